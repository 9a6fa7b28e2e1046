import Foundation
import HarnessSupport

/// A console wait that ran out of time.
package struct ExpectTimeout: Error, CustomStringConvertible, Sendable {
  package var console: String
  package var pattern: String
  package var timeout: Duration
  /// The last lines of every console of the machine.
  package var context: String
  /// The guest shell command that did not end, when this is a shell command's timeout.
  package var command: String?
  package var description: String {
    "no \(pattern) on the \(console) console within \(timeout.seconds.formatted(decimals: 1)) s\n\(context)"
  }
}

/// A bad pattern (panic, oops, stall) seen on a console while a test ran.
package struct BadPatternSeen: Error, CustomStringConvertible, Sendable {
  package var console: String
  package var alarm: BadPatternWatcher.Alarm
  package var context: String
  package init(console: String, alarm: BadPatternWatcher.Alarm, context: String) {
    self.console = console
    self.alarm = alarm
    self.context = context
  }
  package var description: String {
    "\(alarm.rule) on the \(console) console: \(alarm.line)\n\(context)"
  }
}

/// The console connection closed (QEMU exited).
package struct ConsoleClosed: Error, CustomStringConvertible, Sendable {
  package var console: String
  package var pattern: String?
  package var context: String
  package var description: String {
    "the \(console) console closed (QEMU exited)\(pattern.map { " while waiting for \($0)" } ?? "")\n\(context)"
  }
}

/// One serial console of the machine: reads everything QEMU writes (never letting it block), keeps the
/// transcript, watches for bad patterns, and serves one `expect` at a time.
package actor ConsoleSession {
  package nonisolated let name: String
  private let connection: SocketConnection
  private let origin: ContinuousClock.Instant
  private var buffer = ExpectBuffer()
  private var watcher: BadPatternWatcher
  private var transcript: Transcript
  private var waiter: Waiter?
  private var failure: (any Error)?
  private var isClosed = false
  private var closedWaiters: [CheckedContinuation<Void, Never>] = []
  private var alarmHandler: (@Sendable (String, BadPatternWatcher.Alarm) -> Void)?
  private var contextProvider: (@Sendable () async -> String)?
  private var mirror: (@Sendable ([UInt8]) -> Void)?

  private struct Waiter {
    var id: UUID
    var pattern: Pattern
    var continuation: CheckedContinuation<ExpectBuffer.Match, any Error>
  }

  /// - Parameters:
  ///   - origin: the machine's launch; transcript times count from it.
  ///   - transcriptFile: where the transcript is written as it arrives.
  package init(name: String, connection: SocketConnection, origin: ContinuousClock.Instant, transcriptFile: URL?,
    rules: [BadPatternWatcher.Rule])
  {
    self.name = name
    self.connection = connection
    self.origin = origin
    self.transcript = Transcript(file: transcriptFile)
    self.watcher = BadPatternWatcher(rules: rules)
  }

  /// Starts reading. `onAlarm` is called for every bad-pattern line; `context` gives the tails of all consoles
  /// for error messages.
  package func start(onAlarm: @escaping @Sendable (String, BadPatternWatcher.Alarm) -> Void,
    context: @escaping @Sendable () async -> String)
  {
    alarmHandler = onAlarm
    contextProvider = context
    let connection = self.connection
    Task { [weak self] in
      for await _ in connection.batches { await self?.receive(connection.drain()) }
      await self?.receive(connection.drain())
      await self?.closed()
    }
  }

  /// Takes a batch of arrivals in one go; each keeps its own arrival time in the transcript.
  private func receive(_ arrivals: [Arrival]) {
    var any = false
    for arrival in arrivals {
      mirror?(arrival.bytes)
      let text = buffer.append(arrival.bytes)
      guard !text.isEmpty else { continue }
      any = true
      transcript.add(text, at: (arrival.time - origin).seconds)
      for alarm in watcher.feed(text) { alarmHandler?(name, alarm) }
    }
    if any { matchWaiter() }
  }

  private func closed() async {
    isClosed = true
    transcript.flush()
    for c in closedWaiters { c.resume() }
    closedWaiters = []
    if let waiter {
      self.waiter = nil
      let context = await contextProvider?() ?? tail(20)
      waiter.continuation.resume(throwing: ConsoleClosed(console: name, pattern: waiter.pattern.description, context: context))
    }
  }

  private func matchWaiter() {
    guard let w = waiter, let match = buffer.consume(w.pattern) else { return }
    waiter = nil
    w.continuation.resume(returning: match)
  }

  /// Waits until `pattern` appears in the output not yet consumed, and consumes through it.
  /// - Throws: `ExpectTimeout` (with the tails of all consoles) when `timeout` or `deadline` passes first;
  ///   `BadPatternSeen` when the machine was aborted by a bad line; `ConsoleClosed` when QEMU exits;
  ///   `HarnessError` when another wait is already pending on this console.
  package func expect(_ pattern: Pattern, timeout: Duration, deadline: Deadline = .distantFuture) async throws
    -> ExpectBuffer.Match
  {
    if let failure { throw failure }
    if let match = buffer.consume(pattern) { return match }
    if isClosed {
      throw ConsoleClosed(console: name, pattern: pattern.description, context: await contextProvider?() ?? tail(20))
    }
    guard waiter == nil else { throw HarnessError("two waits at once on the \(name) console") }
    let limit = deadline.capped(at: timeout)
    let id = UUID()
    let timer = Task { [weak self] in
      try await Task.sleep(until: limit.instant, clock: .continuous)
      await self?.expire(id, after: timeout)
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        waiter = Waiter(id: id, pattern: pattern, continuation: continuation)
        matchWaiter()
      }
    } onCancel: {
      Task { await self.cancelWaiter(id) }
    }
  }

  private func expire(_ id: UUID, after timeout: Duration) async {
    guard let w = waiter, w.id == id else { return }
    waiter = nil
    let context = await contextProvider?() ?? tail(20)
    w.continuation.resume(throwing: ExpectTimeout(console: name, pattern: w.pattern.description, timeout: timeout, context: context))
  }

  private func cancelWaiter(_ id: UUID) {
    guard let w = waiter, w.id == id else { return }
    waiter = nil
    w.continuation.resume(throwing: CancellationError())
  }

  /// Fails the pending wait and every later one with `error` (a bad pattern elsewhere, QEMU died).
  package func abort(_ error: any Error) {
    failure = error
    if let w = waiter {
      waiter = nil
      w.continuation.resume(throwing: error)
    }
  }

  /// Clears an abort so the machine can be used again (after a test that allowed its failure).
  package func clearAbort() { failure = nil }

  /// Sends text to the guest as typed.
  /// - Throws: `HarnessError` when the console is closed.
  package func send(_ text: String) throws {
    try connection.write(Array(text.utf8))
  }

  package func send(bytes: [UInt8]) throws { try connection.write(bytes) }

  /// Writes what the harness typed into the transcript, as a line of its own, where the console does not echo it.
  /// It is not console output: no wait matches it and no alarm reads it.
  package func recordTyped(_ text: String) { transcript.addTyped(text, at: now()) }

  /// Copies every byte received from now on, as received, to `handler` (a person's terminal).
  package func setMirror(_ handler: (@Sendable ([UInt8]) -> Void)?) { mirror = handler }

  /// Drops output received so far that no wait has consumed.
  package func discardPending() { buffer.discard() }

  /// Allows a bad-pattern rule (by name) until `disallow` — for a test that provokes it.
  package func allow(_ rules: Set<String>) { watcher.allowed.formUnion(rules) }
  package func disallow(_ rules: Set<String>) { watcher.allowed.subtract(rules) }

  /// The last `n` transcript lines.
  package func tail(_ n: Int) -> String { transcript.tail(n) }

  /// Seconds since launch, on the transcript's clock.
  package nonisolated func now() -> Double { (ContinuousClock.now - origin).seconds }

  /// The transcript lines since `time` (seconds since launch).
  package func slice(from time: Double, to end: Double = .infinity) -> [Transcript.Line] { transcript.slice(from: time, to: end) }

  /// Waits until this console printed nothing for `quiet` seconds, or `deadline` passes.
  package func awaitQuiet(_ quiet: Double, deadline: Deadline) async {
    while !deadline.hasPassed, !transcript.slice(from: now() - quiet, to: .infinity).isEmpty {
      try? await Task.sleep(for: .milliseconds(50))
    }
  }

  /// When the last line containing `text` arrived (seconds since launch): the time of a milestone.
  package func timeOfLine(containing text: String) -> Double? {
    transcript.slice(from: 0).last { $0.text.contains(text) }?.time
  }

  /// Whether QEMU closed this console (it exited).
  package var hasClosed: Bool { isClosed }

  /// All lines so far (for milestone timing).
  package func lines() -> [Transcript.Line] { transcript.lines }

  /// What this console printed before the machine was saved, when it was restored from a saved machine; times
  /// are negative, counted back from the moment it was saved.
  package private(set) var earlier: [Transcript.Line] = []

  /// Gives a restored machine's console what it printed before it was saved (its boot).
  package func restore(earlier lines: [Transcript.Line]) { earlier = lines }

  /// Everything this console printed since the machine booted: before it was saved (for a restored machine),
  /// then since launch.
  package func linesSinceBoot() -> [Transcript.Line] { earlier + transcript.lines }

  /// Waits until the connection has closed (QEMU exited), at most until `deadline`.
  package func waitClosed(deadline: Deadline) async {
    if isClosed { return }
    let timer = Task { [weak self] in
      try? await Task.sleep(until: deadline.instant, clock: .continuous)
      await self?.releaseClosedWaiters()
    }
    defer { timer.cancel() }
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        if Task.isCancelled { continuation.resume() } else { closedWaiters.append(continuation) }
      }
    } onCancel: {
      Task { await self.releaseClosedWaiters() }
    }
  }

  private func releaseClosedWaiters() {
    for c in closedWaiters { c.resume() }
    closedWaiters = []
  }

  /// Closes the connection and writes out the transcript's last partial line.
  package func close() {
    connection.close()
    transcript.flush()
  }
}
