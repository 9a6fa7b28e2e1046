import Foundation
import HarnessSupport

/// One time a CPU executed a watched address.
package struct WatchHit: Sendable, Equatable {
  /// The watched point's name (a symbol of tee.elf or bl31.elf).
  package var name: String
  /// The CPU's index (0 for the first).
  package var cpu: Int
  package var at: ContinuousClock.Instant
  /// The register the watch was asked to read at this point (a function's argument), as the CPU held it.
  package var argument: UInt64?
  package init(name: String, cpu: Int, at: ContinuousClock.Instant, argument: UInt64? = nil) {
    self.name = name
    self.cpu = cpu
    self.at = at
    self.argument = argument
  }
}

/// Logs every time CPUs execute watched secure-world addresses (TF-A's or OP-TEE's; a follower only at its CPU's
/// first hit after its trigger) while the machine runs on,
/// and, on request, does something with a CPU stopped at an entry into OP-TEE in the middle (reads the thread
/// table, makes an interrupt pending) — all through the one stub connection, which only the watch's loop uses
/// while it lasts. Made by `SecureWorldProbe.watching(_:_:)`.
package actor SecureWorldWatch {
  private let probe: SecureWorldProbe
  private let points: [UInt64: String]
  /// OP-TEE's code a CPU never leaves (`ELFSymbols.deadEnds`), armed beside the points: a CPU that gets there ends
  /// the watch, and the body, with `SecureDeadEnd` at once, instead of the body waiting out its deadlines.
  private let deadEnds: [UInt64: String]
  /// The register read at a point's every hit (`x1`: a function's second argument), by the point's address.
  private let arguments: [UInt64: String]
  /// Points watched only after another (`followers[point]`, its trigger): a point every call passes through
  /// (OP-TEE's message loop) would stop the machine at each of them, slowing what the watch looks at. Armed when a
  /// CPU hits the trigger, logged at that CPU's next hit, disarmed once no CPU awaits one.
  private let followers: [UInt64: UInt64]
  /// The points armed for the whole watch: all but the followers.
  private let armedThroughout: [UInt64]
  /// The CPUs that hit a follower's trigger and have not reached the follower since, by follower.
  private var awaiting: [UInt64: Set<Int>] = [:]
  /// Where a request is served by default: every secure interrupt runs it.
  private let entry: UInt64
  /// Work for the next stop at an entry: run with the CPU stopped there; true once done (false: not this stop).
  private struct Request {
    var id: Int
    var address: UInt64
    var run: @Sendable (Result<CPUStop, any Error>) async -> Bool
  }
  private var requests: [Request] = []
  private var nextRequest = 0
  /// Requests given up while being served (or before they were queued), with the error to answer them with.
  private var withdrawn: [Int: any Error] = [:]
  /// The watch's loop ended: no request is served any more.
  private var ended = false
  /// What brings a CPU to a request's stop, by request: cancelled once the request is answered.
  private var prompts: [Int: Task<Void, Never>] = [:]
  private var armedEntries: Set<UInt64> = []
  /// Who waits for the breakpoints to be armed (nil once they are, or once the watch ended).
  private var armedWaiters: [CheckedContinuation<Void, any Error>]? = []
  private var finishing = false
  /// Every hit so far, in order.
  package private(set) var log: [WatchHit] = []
  /// Hits so far.
  package var hits: Int { log.count }

  init(probe: SecureWorldProbe, points: [UInt64: String], arguments: [UInt64: String] = [:], followers: [UInt64: UInt64] = [:]) throws {
    self.probe = probe
    self.points = points
    self.deadEnds = probe.tee.deadEnds.filter { points[$0.key] == nil }
    self.arguments = arguments
    // A follower is armed by its trigger's hit and disarmed by its own: both must be points, and the trigger one
    // armed throughout (a follower of a follower could never be armed).
    for (follower, trigger) in followers where points[trigger] == nil || points[follower] == nil || followers[trigger] != nil {
      let name = { (address: UInt64) in points[address] ?? "0x\(String(address, radix: 16))" }
      throw HarnessError(points[follower] == nil ? "\(name(follower)) is to be watched after \(name(trigger)) but is not a watched point"
        : "\(name(follower)) is to be watched after \(name(trigger)), which is \(trigger == follower ? "itself" : points[trigger] == nil ? "not watched" : "itself watched only after another")")
    }
    self.followers = followers
    self.armedThroughout = points.keys.filter { followers[$0] == nil }
    self.entry = try probe.tee.address("interrupt_main_handler")
  }

  /// Hits of `name` so far.
  package func hits(of name: String) -> Int { log.count { $0.name == name } }

  /// Whether `name` was hit at least `count` times before `deadline`, looked at every 10 ms of the host's time: no
  /// program runs in the guest for it (its shell may get no CPU then).
  package func untilHits(of name: String, atLeast count: Int, deadline: Deadline) async throws -> Bool {
    while hits(of: name) < count {
      if deadline.hasPassed || ended { return false }
      try await Task.sleep(for: .milliseconds(10))
    }
    return true
  }

  /// OP-TEE's thread table, read at the next secure interrupt (within about a second while counting goes on).
  /// - Throws: `DeadlineExceeded` when no CPU enters OP-TEE's interrupt handler before `deadline`.
  package func threadTable(deadline: Deadline = .after(.seconds(10))) async throws -> [OpteeThread] {
    let probe = self.probe
    return try await whenStopped(deadline: deadline, waitingFor: "the thread table at OP-TEE's next interrupt (interrupt_main_handler never reached)") { cpu in
      guard cpu.secure else { throw HarnessError("stopped at interrupt_main_handler but \(cpu.description)") }
      return try await probe.readThreadTable(deadline: .after(.seconds(5)))
    }
  }

  /// Runs `body` with the machine stopped, the CPU that next enters OP-TEE at `symbol` (default: its interrupt
  /// handler, which the probe pokes when no periodic interrupt enters it) selected; `body` returns nil to wait
  /// for the next such stop instead. The machine runs on afterwards, the watch logging as before.
  /// `prompt`, when given, starts once the request waits for its stop: what brings a CPU there (a byte typed);
  /// it is cancelled once the request is answered, so it may go on prompting until then.
  /// - Throws: `DeadlineExceeded` (saying `waitingFor`) when no fitting stop comes in time; what `body` or
  ///   `prompt` throws.
  package func whenStopped<T: Sendable>(at symbol: String? = nil, deadline: Deadline = .after(.seconds(10)), waitingFor: String? = nil,
    prompt: (@Sendable () async throws -> Void)? = nil, _ body: @escaping @Sendable (CPUStop) async throws -> T?) async throws -> T
  {
    guard !finishing else { throw HarnessError("the watch is over: stop the machine inside its body") }
    let address = try symbol.map { try probe.address(of: $0) } ?? entry
    let id = nextRequest
    nextRequest += 1
    let what = waitingFor ?? "a CPU to enter OP-TEE at \(symbol ?? "interrupt_main_handler")"
    return try await withDeadline(deadline, what) {
      try await withTaskCancellationHandler {
        try await self.enqueue(id: id, address: address, prompt: prompt, body)
      } onCancel: {
        Task { await self.withdraw(id) }
      }
    }
  }

  private func enqueue<T: Sendable>(id: Int, address: UInt64, prompt: (@Sendable () async throws -> Void)?,
    _ body: @escaping @Sendable (CPUStop) async throws -> T?) async throws -> T
  {
    // Given up before it got here (its deadline passed first), or nothing left to serve it: no request, no prompt.
    if let early = withdrawn.removeValue(forKey: id) { throw early }
    if ended { throw HarnessError("the watch ended") }
    try Task.checkCancellation()
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      requests.append(Request(id: id, address: address) { stop in
        do {
          guard let value = try await body(try stop.get()) else { return false }
          continuation.resume(returning: value)
        } catch {
          continuation.resume(throwing: error)
        }
        return true
      })
      if let prompt {
        prompts[id] = Task {
          do { try await prompt() } catch is CancellationError {} catch { await self.withdraw(id, error) }
        }
      }
    }
  }

  /// A request given up (its deadline passed, its prompt failed): answered with `error` unless already served.
  private func withdraw(_ id: Int, _ error: any Error = CancellationError()) async {
    // One being served now is answered when its service ends.
    guard let k = requests.firstIndex(where: { $0.id == id }) else { withdrawn[id] = error; return }
    let request = requests.remove(at: k)
    prompts.removeValue(forKey: id)?.cancel()
    _ = await request.run(.failure(error))
  }

  func finish() { finishing = true }

  /// Returns once every watched breakpoint is armed and the machine runs: what happens from then on is logged.
  /// - Throws: what ended the watch before that.
  func untilArmed() async throws {
    guard armedWaiters != nil else { return }
    try await withCheckedThrowingContinuation { armedWaiters?.append($0) }
  }

  private func armed(_ outcome: Result<Void, any Error>) {
    for waiter in armedWaiters ?? [] { waiter.resume(with: outcome) }
    armedWaiters = nil
  }

  /// The loop: runs until `finish()`, then leaves the machine running with no breakpoint of its own (also when
  /// it fails: the halt removes what it armed).
  func run() async throws {
    defer {
      armed(.failure(HarnessError("the watch ended before its breakpoints were armed")))
      Task { await self.failRequests(HarnessError("the watch ended")) }
    }
    try await probe.rsp.breaking(at: armedThroughout + deadEnds.keys.sorted(), deadline: .after(.seconds(5))) { halt in
      await self.armed(.success(()))
      try await self.loop(halt)
    }
  }

  private func failRequests(_ error: any Error) async {
    ended = true
    let pending = requests
    requests = []
    for prompt in prompts.values { prompt.cancel() }
    prompts = [:]
    for request in pending { _ = await request.run(.failure(error)) }
  }

  /// Entries some request waits at that are not armed yet.
  private var entriesToArm: Set<UInt64> {
    Set(requests.map(\.address)).subtracting(armedEntries).subtracting(armedThroughout)
  }

  private func loop(_ halt: Halt) async throws {
    while true {
      // Ending, or arming an entry for a request, is looked at before every wait: a breakpoint that fires
      // without pause (an interrupt storm) must not keep the watch from ending.
      if finishing || !entriesToArm.isEmpty {
        // Stop the machine to change breakpoints (a hit may come first: it is handled, the machine kept stopped).
        if let stop = try await halt.stop(deadline: .after(.seconds(5))) { try await handle(stop, halt, resume: false) }
        if finishing { return }
        for address in entriesToArm.sorted() {
          try await halt.arm(address, deadline: .after(.seconds(5)))
          armedEntries.insert(address)
          if address == entry, !probe.periodicEntry { try? await probe.poke() }
        }
        try await halt.run()
      }
      // Only the wait for a stop may pass without one: a stub that does not answer while a stop is handled ends
      // the watch, instead of leaving the machine stopped.
      let stop: StopReply
      do { stop = try await halt.nextStop(deadline: .after(.milliseconds(100))) } catch is DeadlineExceeded { continue }
      try await handle(stop, halt)
    }
  }

  /// Deals with one stop (a counted hit, a request served) and, when `resume`, lets the machine run again.
  private func handle(_ stop: StopReply, _ halt: Halt, resume: Bool = true) async throws {
    let deadline = Deadline.after(.seconds(5))
    let at = ContinuousClock.now
    let cpu = try await halt.cpuState(thread: stop.thread, deadline: deadline)
    if let end = deadEnds[cpu.pc] { throw SecureDeadEnd(cpu: cpu, symbol: end, file: probe.tee.file) }
    let watched = points[cpu.pc]
    // A follower's hit counts only on a CPU that awaits it.
    let counted = followers[cpu.pc] == nil || awaiting[cpu.pc]?.remove(cpu.cpu) != nil
    if let name = watched, counted {
      var argument: UInt64?
      if let register = arguments[cpu.pc] { argument = try await probe.rsp.readRegister(register, deadline: deadline) }
      log.append(WatchHit(name: name, cpu: cpu.cpu, at: at, argument: argument))
    }
    for (follower, trigger) in followers where counted && trigger == cpu.pc {
      awaiting[follower, default: []].insert(cpu.cpu)
      try await halt.arm(follower, deadline: deadline)
    }
    if watched != nil || armedEntries.contains(cpu.pc) {
      // Requests waiting here (at an entry armed for them, or at a watched point) run with the CPU stopped.
      // Taken out while they run, so that a deadline passing meanwhile cannot answer one twice.
      let here = requests.filter { $0.address == cpu.pc }
      requests.removeAll { $0.address == cpu.pc }
      for request in here {
        if await request.run(.success(cpu)) {
          prompts.removeValue(forKey: request.id)?.cancel()
        } else if let error = withdrawn.removeValue(forKey: request.id) {
          prompts.removeValue(forKey: request.id)?.cancel()
          _ = await request.run(.failure(error))
        } else {
          requests.append(request)
        }
      }
      let awaited = followers[cpu.pc] == nil || !(awaiting[cpu.pc] ?? []).isEmpty
      if (watched == nil || !awaited) && !requests.contains(where: { $0.address == cpu.pc }) {
        // A deadline of its own: the requests' bodies may have taken the stop's.
        try await halt.disarm(cpu.pc, deadline: .after(.seconds(5)))
        armedEntries.remove(cpu.pc)
      } else {
        try await halt.stepOver(cpu.pc, deadline: .after(.seconds(5)))
      }
    }
    if resume { try await halt.run() }
  }
}

extension SecureWorldProbe {
  /// Runs `body` while counting how often CPUs execute `address` (a hardware breakpoint, stepped over and armed
  /// again at each hit); `body` may read the thread table meanwhile. Returns the hits and `body`'s result; the
  /// machine runs on afterwards.
  package func watching<T: Sendable>(_ address: UInt64, _ body: @Sendable (SecureWorldWatch) async throws -> T)
    async throws -> (hits: Int, result: T)
  {
    let (log, result) = try await watching(points: [address: "0x\(String(address, radix: 16))"], body)
    return (log.count, result)
  }

  /// Runs `body` while logging every time a CPU executes one of `symbols` (of tee.elf or bl31.elf); returns the
  /// log, in order, and `body`'s result. `reading` names, by symbol, a register to read at each of its hits (the
  /// hit's `argument`).
  /// `after` names, by symbol, a trigger: the symbol is then logged only at a CPU's first hit after that CPU hit
  /// the trigger (for code every call runs through, whose every hit would stop the machine).
  /// - Throws: `HarnessError` for a symbol neither image has.
  package func watching<T: Sendable>(_ symbols: [String], reading: [String: String] = [:], after: [String: String] = [:],
    _ body: @Sendable (SecureWorldWatch) async throws -> T) async throws -> (log: [WatchHit], result: T)
  {
    var points: [UInt64: String] = [:], arguments: [UInt64: String] = [:], followers: [UInt64: UInt64] = [:]
    for symbol in symbols {
      let address = try address(of: symbol)
      points[address] = symbol
      arguments[address] = reading[symbol]
      if let trigger = after[symbol] { followers[address] = try self.address(of: trigger) }
    }
    return try await watching(points: points, arguments: arguments, followers: followers, body)
  }

  /// Runs `body` while logging every time a CPU executes one of `points` (an address and the name to log it by);
  /// a point in `followers` only at a CPU's first hit after its trigger (`followers[point]`, itself a point).
  package func watching<T: Sendable>(points: [UInt64: String], arguments: [UInt64: String] = [:], followers: [UInt64: UInt64] = [:],
    _ body: @Sendable (SecureWorldWatch) async throws -> T) async throws -> (log: [WatchHit], result: T)
  {
    let watch = try SecureWorldWatch(probe: self, points: points, arguments: arguments, followers: followers)
    let loop = Task { try await watch.run() }
    do {
      // The body's stimulus must not run before the breakpoints that watch it.
      try await watch.untilArmed()
    } catch {
      // The watch could not start: its own error says why.
      if case .failure(let failure) = await loop.result { throw failure }
      throw error
    }
    // The body and the loop race: a loop that fails first (a CPU in a dead end, the stub gone) cancels the body.
    let outcome: Result<T, any Error> = await withoutActuallyEscaping(body) { body in
      await withTaskGroup(of: WatchEnded<T>.self) { group in
        group.addTask {
          do { return .body(.success(try await body(watch))) } catch { return .body(.failure(error)) }
        }
        group.addTask {
          if case .failure(let error) = await loop.result { return .loop(error) }
          return .loop(nil)
        }
        switch await group.next() {
        case .body(let result):
          await watch.finish()
          guard case .loop(let failure?) = await group.next(), case .success = result else { return result }
          return .failure(failure)
        case .loop(let failure):
          group.cancelAll()
          // What the watch saw up to the dead end: a body's oracle may still read the fault that led there.
          if var end = failure as? SecureDeadEnd { end.log = await watch.log; return .failure(end) }
          return .failure(failure ?? HarnessError("the watch ended before its body"))
        case nil:
          return .failure(HarnessError("the watch ended before its body"))
        }
      }
    }
    return (await watch.log, try outcome.get())
  }
}

/// Which of a watch's body and loop ended first.
private enum WatchEnded<T: Sendable>: Sendable { case body(Result<T, any Error>), loop((any Error)?) }

/// A CPU reached code of OP-TEE it never leaves (`ELFSymbols.deadEnds`): the stack is dead on that CPU, and the
/// machine with it.
package struct SecureDeadEnd: Error, CustomStringConvertible, Sendable {
  package var cpu: CPUStop
  package var symbol: String
  package var file: String
  /// The watch's log up to the dead end.
  package var log: [WatchHit] = []
  package init(cpu: CPUStop, symbol: String, file: String) {
    self.cpu = cpu
    self.symbol = symbol
    self.file = file
  }
  package var description: String {
    // OP-TEE's `*_sp1` entries take an exception raised while it already ran on its exception stack.
    let what = symbol.hasSuffix("_sp1") ? "an exception taken while OP-TEE ran on its own exception stack (SP_EL1): a fault inside its exception handling" : "an exception its vector does not handle"
    return "CPU \(cpu.cpu) entered \(symbol) (\(file)), a vector entry that branches to itself: \(what); the CPU never leaves it"
  }
}
