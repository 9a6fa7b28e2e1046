import Foundation
import HarnessSupport

/// The stub answered a request with an error (`E01`) or said it does not support it (empty reply).
package struct RSPError: Error, CustomStringConvertible, Sendable {
  package var request: String
  package var reply: String
  package var description: String {
    reply.isEmpty ? "the GDB stub does not support `\(request)`" : "the GDB stub answered `\(request)` with \(reply)"
  }
}

/// The machine's GDB stub connection: one request at a time while the target is stopped, `resume` and
/// `waitForStop` around running, `interrupt` to stop it. Starts in acknowledgement mode and switches to
/// no-ack mode when the stub offers it.
///
/// One conversation at a time, by design: concurrent requests queue (each within its deadline) instead of
/// mixing their bytes, a second wait for the same reply is refused, and `halted`/`breaking` sessions queue
/// behind one another — a caller is never dropped unanswered.
package actor RSPClient {
  package enum State: Sendable, Equatable { case connected, stopped, running, closed }

  private let connection: SocketConnection
  private var framer = RSPFramer()
  private var ackMode = true
  private var lastSent: [UInt8] = []
  private var packets: [[UInt8]] = []
  private var waiter: (id: UUID, what: String, continuation: CheckedContinuation<[UInt8], any Error>)?
  /// Request and reply, or stop and stop reply: one exchange on the wire at a time.
  private let exchanges = TurnQueue("the GDB stub")
  /// `halted` and `breaking`: one closure owns the stopped or breaking machine at a time.
  let sessions = TurnQueue("the GDB stub")
  package private(set) var state: State = .connected
  /// `qSupported` features the stub announced (`PacketSize` → `1000`, `qXfer:features:read` → `+`).
  package private(set) var features: [String: String] = [:]
  /// Register numbers by name, from the stub's target description (`pc`, `cpsr`, `SCR_EL3`, …).
  package private(set) var registers: [String: Int] = [:]
  /// The CPU register reads and `step` apply to: the one selected last (`Hg`), else the one that stopped last.
  package private(set) var current: String?

  package init(connection: SocketConnection) { self.connection = connection }

  /// Starts reading, negotiates features and no-ack mode, and reads the target description.
  /// - Throws: `DeadlineExceeded` when the stub does not answer in time.
  package func connect(deadline: Deadline) async throws {
    let chunks = connection.chunks
    Task { [weak self] in
      for await chunk in chunks { await self?.receive(chunk) }
      await self?.closed()
    }
    let supported = try await exchange("qSupported:swbreak+;hwbreak+;xmlRegisters=aarch64", deadline: deadline)
    for item in String(decoding: supported, as: UTF8.self).split(separator: ";") {
      if let eq = item.firstIndex(of: "=") {
        features[String(item[..<eq])] = String(item[item.index(after: eq)...])
      } else if let last = item.last, last == "+" || last == "-" {
        features[String(item.dropLast())] = String(last)
      }
    }
    if features["QStartNoAckMode"] == "+", try await exchange("QStartNoAckMode", deadline: deadline) == Array("OK".utf8) {
      ackMode = false
    }
    if features["qXfer:features:read"] == "+" { registers = try await readRegisterMap(deadline: deadline) }
  }

  // MARK: running and stopping

  /// Stops the target (0x03) and returns why it stopped.
  package func interrupt(deadline: Deadline) async throws -> StopReply {
    try await exchanges.exclusive("an interrupt", deadline: deadline) {
      try await self.sendInterrupt(deadline: deadline)
    }
  }

  private func sendInterrupt(deadline: Deadline) async throws -> StopReply {
    guard state != .stopped else { throw HarnessError("the target is already stopped") }
    try connection.write([0x03], deadline: deadline)
    state = .running
    return try await waitForStop(deadline: deadline)
  }

  /// Lets the target run (`c`); its next stop is reported by `waitForStop`.
  package func resume() throws {
    guard state != .closed else { throw HarnessError("the GDB stub connection is closed") }
    try send(Array("c".utf8))
    state = .running
  }

  /// Waits for the running target to stop (a breakpoint, an interrupt).
  /// - Throws: `DeadlineExceeded` when it does not stop in time (it is still running then).
  package func waitForStop(deadline: Deadline) async throws -> StopReply {
    while true {
      let packet = try await nextPacket(deadline: deadline, what: "a stop of the target", reply: false)
      if let stop = StopReply(packet) {
        state = .stopped
        current = stop.thread ?? current  // the stub selects the CPU that stopped
        return stop
      }
    }
  }

  /// Steps the current CPU, stopped at `address`, until its PC leaves it, and returns the PC then. QEMU may end a
  /// step before its instruction ran — another thread kicked the CPU (an interrupt line changed) between its
  /// checks — and the stop comes back with the PC unmoved; such a step is made again, up to 4 in all (an
  /// instruction that branches to itself never leaves).
  package func step(leaving address: UInt64, deadline: Deadline) async throws -> UInt64 {
    var pc = address
    for _ in 0..<4 where pc == address {
      _ = try await step(deadline: deadline)
      pc = try await readRegister("pc", deadline: deadline)
    }
    return pc
  }

  /// Executes one instruction on the current CPU alone (`vCont;s:thread`: the other CPUs stay stopped; a bare
  /// `s` would let them all run for the step) and returns its stop.
  package func step(deadline: Deadline = .after(.seconds(5))) async throws -> StopReply {
    try await exchanges.exclusive("a step", deadline: deadline) { try await self.sendStep(deadline: deadline) }
  }

  private func sendStep(deadline: Deadline) async throws -> StopReply {
    guard state == .stopped || state == .connected else { throw HarnessError("GDB step while the target runs: stop it first") }
    packets.removeAll()
    try send(Array((current.map { "vCont;s:\($0)" } ?? "s").utf8), deadline: deadline)
    state = .running
    return try await waitForStop(deadline: deadline)
  }

  // MARK: requests (target stopped)

  /// Sends `request` and returns the reply's payload.
  /// - Throws: `RSPError` for `Exx` replies and, when `emptyIsError`, empty ones (unsupported).
  @discardableResult
  package func request(_ request: String, deadline: Deadline = .after(.seconds(5)), emptyIsError: Bool = true) async throws -> [UInt8] {
    guard state == .stopped || state == .connected else {
      throw HarnessError("GDB request `\(request)` while the target runs: stop it first")
    }
    let reply = try await exchange(request, deadline: deadline)
    let text = String(decoding: reply.prefix(4), as: UTF8.self)
    if (reply.count == 3 && reply.first == UInt8(ascii: "E")) || (reply.isEmpty && emptyIsError) {
      throw RSPError(request: request, reply: text)
    }
    return reply
  }

  /// Reads `count` bytes at `address` as the stopped CPU selected by `selectThread` sees them.
  package func readMemory(_ address: UInt64, count: Int, deadline: Deadline = .after(.seconds(5))) async throws -> [UInt8] {
    let reply = try await request("m\(String(address, radix: 16)),\(String(count, radix: 16))", deadline: deadline)
    guard let bytes = Self.hexBytes(reply), bytes.count == count else {
      throw RSPError(request: "m\(String(address, radix: 16))", reply: String(decoding: reply.prefix(16), as: UTF8.self))
    }
    return bytes
  }

  /// Writes `bytes` at `address` (`M`).
  package func writeMemory(_ address: UInt64, _ bytes: [UInt8], deadline: Deadline = .after(.seconds(5))) async throws {
    let hex = bytes.map { String(format: "%02x", $0) }.joined()
    try await request("M\(String(address, radix: 16)),\(String(bytes.count, radix: 16)):\(hex)", deadline: deadline)
  }

  /// Every general register of the selected thread in the stub's order (`g`), as raw target bytes.
  package func readRegisters(deadline: Deadline = .after(.seconds(5))) async throws -> [UInt8] {
    let reply = try await request("g", deadline: deadline)
    guard let bytes = Self.hexBytes(reply) else { throw RSPError(request: "g", reply: String(decoding: reply.prefix(16), as: UTF8.self)) }
    return bytes
  }

  /// A little-endian integer of `size` bytes at `address`.
  package func readInteger(_ address: UInt64, size: Int, deadline: Deadline = .after(.seconds(5))) async throws -> UInt64 {
    let bytes = try await readMemory(address, count: size, deadline: deadline)
    return bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
  }

  /// Register `name` (from the target description) of the selected thread.
  package func readRegister(_ name: String, deadline: Deadline = .after(.seconds(5))) async throws -> UInt64 {
    guard let number = registers[name] else {
      throw HarnessError("the GDB stub has no register '\(name)'",
        fix: "known: \(registers.keys.filter { $0.hasPrefix(String(name.prefix(3))) }.sorted().prefix(8).joined(separator: ", "))")
    }
    let reply = try await request("p\(String(number, radix: 16))", deadline: deadline)
    guard let bytes = Self.hexBytes(reply) else { throw RSPError(request: "p\(number)", reply: String(decoding: reply, as: UTF8.self)) }
    return bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
  }

  /// Writes 64-bit register `name` (from the target description) of the selected thread (`P`).
  package func writeRegister(_ name: String, _ value: UInt64, deadline: Deadline = .after(.seconds(5))) async throws {
    guard let number = registers[name] else { throw HarnessError("the GDB stub has no register '\(name)'") }
    let hex = (0..<8).map { String(format: "%02x", (value >> (8 * UInt64($0))) & 0xff) }.joined()
    try await request("P\(String(number, radix: 16))=\(hex)", deadline: deadline)
  }

  /// Selects the thread (vCPU) later register and memory requests apply to.
  package func selectThread(_ thread: String, deadline: Deadline = .after(.seconds(5))) async throws {
    try await request("Hg\(thread)", deadline: deadline)
    current = thread
  }

  /// The stub's threads: one per vCPU.
  package func threads(deadline: Deadline = .after(.seconds(5))) async throws -> [String] {
    var all: [String] = []
    var reply = try await request("qfThreadInfo", deadline: deadline)
    while reply.first == UInt8(ascii: "m") {
      all += String(decoding: reply.dropFirst(), as: UTF8.self).split(separator: ",").map(String.init)
      reply = try await request("qsThreadInfo", deadline: deadline)
    }
    return all
  }

  package enum BreakpointKind: Int, Sendable { case software = 0, hardware = 1 }

  package func insertBreakpoint(_ kind: BreakpointKind, at address: UInt64, deadline: Deadline = .after(.seconds(5))) async throws {
    try await request("Z\(kind.rawValue),\(String(address, radix: 16)),4", deadline: deadline)
  }

  package func removeBreakpoint(_ kind: BreakpointKind, at address: UInt64, deadline: Deadline = .after(.seconds(5))) async throws {
    try await request("z\(kind.rawValue),\(String(address, radix: 16)),4", deadline: deadline)
  }

  package func close() {
    state = .closed
    connection.close()
  }

  // MARK: plumbing

  private func exchange(_ request: String, deadline: Deadline) async throws -> [UInt8] {
    try await exchanges.exclusive("`\(request.prefix(40))`", deadline: deadline) {
      try await self.sendAndReceive(request, deadline: deadline)
    }
  }

  private func sendAndReceive(_ request: String, deadline: Deadline) async throws -> [UInt8] {
    packets.removeAll()
    try send(Array(request.utf8), deadline: deadline)
    return try await nextPacket(deadline: deadline, what: "the reply to `\(request.prefix(40))`")
  }

  private func send(_ payload: [UInt8], deadline: Deadline = .after(.seconds(5))) throws {
    lastSent = RSPFramer.encode(payload)
    try connection.write(lastSent, deadline: deadline)
  }

  private func receive(_ bytes: [UInt8]) {
    for event in framer.feed(bytes) {
      switch event {
      case .packet(let payload):
        if ackMode { try? connection.write(Array("+".utf8)) }
        packets.append(payload)
      case .corrupted:
        if ackMode { try? connection.write(Array("-".utf8)) }
      case .nack:
        try? connection.write(lastSent)
      case .ack, .notification:
        break
      }
    }
    if let w = waiter, !packets.isEmpty {
      waiter = nil
      w.continuation.resume(returning: packets.removeFirst())
    }
  }

  private func closed() {
    state = .closed
    if let w = waiter {
      waiter = nil
      w.continuation.resume(throwing: HarnessError("the GDB stub connection closed (QEMU exited)"))
    }
  }

  /// The next packet; `reply` when it is the answer to a request (no answer is then the channel's trouble),
  /// not a stop of the running target (whose absence says something of the guest).
  private func nextPacket(deadline: Deadline, what: String, reply: Bool = true) async throws -> [UInt8] {
    if !packets.isEmpty { return packets.removeFirst() }
    guard state != .closed else { throw HarnessError("the GDB stub connection is closed (QEMU exited)") }
    // Never replace a waiter (it would wait forever): a second wait is a caller's mistake, said as such. A
    // cancelled wait leaves by itself in a moment (its expiry is queued on this actor): give it that moment —
    // measured in time, up to 5 s or the deadline, for on a loaded host the expiry's task may start late.
    let began = ContinuousClock.now
    while true {
      guard let other = waiter else { break }
      if ContinuousClock.now - began > .seconds(5) || deadline.hasPassed {
        throw HarnessError("GDB stub: \(what) is awaited while \(other.what) is still awaited (one conversation at a time)")
      }
      try await Task.sleep(for: .milliseconds(1))
      if !packets.isEmpty && waiter == nil { return packets.removeFirst() }
    }
    guard state != .closed else { throw HarnessError("the GDB stub connection is closed (QEMU exited)") }
    let id = UUID()
    let started = ContinuousClock.now
    let timer = Task { [weak self] in
      try await Task.sleep(until: deadline.instant, clock: .continuous)
      await self?.expire(id, DeadlineExceeded("GDB stub: \(what)", after: .now - started, channel: reply))
    }
    defer { timer.cancel() }
    try Task.checkCancellation()
    // A cancelled waiter stops waiting at once (the packet, if it comes, is kept for the next one).
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { waiter = (id, what, $0) }
    } onCancel: {
      Task { await self.expire(id, CancellationError()) }
    }
  }

  private func expire(_ id: UUID, _ error: any Error) {
    guard let w = waiter, w.id == id else { return }
    waiter = nil
    w.continuation.resume(throwing: error)
  }

  static func hexBytes(_ reply: [UInt8]) -> [UInt8]? {
    guard reply.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(reply.count / 2)
    var i = 0
    while i < reply.count {
      guard let b = RSPFramer.hexValue(reply[i], reply[i + 1]) else { return nil }
      out.append(b)
      i += 2
    }
    return out
  }
}
