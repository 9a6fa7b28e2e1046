import Foundation
import HarnessSupport

/// A QMP command QEMU answered with an error.
package struct QMPCommandError: Error, CustomStringConvertible, Sendable {
  package var command: String
  package var errorClass: String
  package var message: String
  package var description: String { "QMP \(command) failed: \(errorClass): \(message)" }
}

/// The machine's QMP connection: commands with replies routed by id, events as a stream.
package actor QMPClient {
  package enum State: Sendable { case connecting, ready, closed }

  /// An asynchronous event from QEMU (`STOP`, `RESUME`, `SHUTDOWN`, …).
  package struct Event: Sendable {
    package var name: String
    package var timestamp: Double
    package var summary: String
  }

  private let connection: SocketConnection
  private var framer = QMPFramer()
  private var nextID = 1
  private var pending: [Int: (command: String, continuation: CheckedContinuation<SendableValue, any Error>)] = [:]
  private var greeting: CheckedContinuation<Void, any Error>?
  private var greeted = false
  package private(set) var state: State = .connecting
  package nonisolated let events: AsyncStream<Event>
  private let eventSink: AsyncStream<Event>.Continuation

  /// A reply's `return` value.
  package struct SendableValue: @unchecked Sendable {
    package var value: Any?
    package var dictionary: [String: Any] { value as? [String: Any] ?? [:] }
  }

  package init(connection: SocketConnection) {
    self.connection = connection
    (events, eventSink) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1000))
  }

  /// Reads the greeting and negotiates capabilities.
  /// - Throws: `DeadlineExceeded` when QEMU does not greet in time; `QMPCommandError` if negotiation fails.
  package func connect(deadline: Deadline) async throws {
    let chunks = connection.chunks
    Task { [weak self] in
      for await chunk in chunks { await self?.receive(chunk) }
      await self?.closed()
    }
    if !greeted {
      try await withDeadline(deadline, "QMP greeting") { [self] in try await self.awaitGreeting() }
    }
    _ = try await execute("qmp_capabilities", deadline: deadline)
    state = .ready
  }

  private func awaitGreeting() async throws {
    if greeted { return }
    try await withCheckedThrowingContinuation { greeting = $0 }
  }

  private func receive(_ bytes: [UInt8]) {
    let messages: [QMPMessage]
    do { messages = try framer.feed(bytes) } catch { return fail(error) }
    for message in messages {
      switch message {
      case .greeting:
        greeted = true
        greeting?.resume()
        greeting = nil
      case .reply(let id, let result):
        if let id, let p = pending.removeValue(forKey: id) { p.continuation.resume(returning: SendableValue(value: result)) }
      case .error(let id, let errorClass, let description):
        if let id, let p = pending.removeValue(forKey: id) {
          p.continuation.resume(throwing: QMPCommandError(command: p.command, errorClass: errorClass, message: description))
        }
      case .event(let name, let data, let timestamp):
        let summary = (try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])).map {
          String(decoding: $0, as: UTF8.self)
        } ?? ""
        eventSink.yield(Event(name: name, timestamp: timestamp, summary: summary))
      }
    }
  }

  private func closed() { fail(HarnessError("the QMP connection closed (QEMU exited)")) }

  private func fail(_ error: any Error) {
    state = .closed
    greeting?.resume(throwing: error)
    greeting = nil
    for (_, p) in pending { p.continuation.resume(throwing: error) }
    pending = [:]
    eventSink.finish()
  }

  /// Runs a QMP command and returns its `return` value.
  /// - Throws: `QMPCommandError` when QEMU answers with an error; `DeadlineExceeded` without an answer in
  ///   time; `HarnessError` when the connection is closed.
  @discardableResult
  package func execute(_ command: String, arguments: [String: any Sendable]? = nil, deadline: Deadline = .after(.seconds(10)))
    async throws -> SendableValue
  {
    guard state != .closed else { throw HarnessError("QMP \(command): the connection is closed (QEMU exited)") }
    let id = nextID
    nextID += 1
    try connection.write(QMPFramer.encode(command, arguments: arguments, id: id))
    let timer = Task { [weak self] in
      try await Task.sleep(until: deadline.instant, clock: .continuous)
      await self?.expire(id, command: command)
    }
    defer { timer.cancel() }
    return try await withCheckedThrowingContinuation { pending[id] = (command, $0) }
  }

  private func expire(_ id: Int, command: String) {
    pending.removeValue(forKey: id)?.continuation.resume(throwing: DeadlineExceeded("QMP did not answer \(command)", after: .zero, channel: true))
  }

  /// `query-status`: the run state (`running`, `paused`, `prelaunch`, …).
  package func status() async throws -> String {
    try await execute("query-status").dictionary["status"] as? String ?? "unknown"
  }

  package func close() { connection.close() }
}
