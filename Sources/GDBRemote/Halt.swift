import Foundation
import HarnessSupport

/// The stub for the length of one closure: the breakpoints armed in it and the CPU selected. Made by
/// `RSPClient.halted(deadline:_:)` (the machine stopped while the closure looks) and
/// `RSPClient.breaking(at:deadline:_:)` (breakpoints armed, the machine running until a CPU reaches one). On
/// every way out — a return, a throw, a cancellation, a passed deadline — the machine is stopped if it runs,
/// every breakpoint still armed is removed, and the machine runs again: no closure leaves the stub dirty.
package actor Halt {
  package let rsp: RSPClient
  /// The addresses with a hardware breakpoint armed through this halt.
  package private(set) var armed: Set<UInt64> = []
  /// The CPU (stub thread) later reads apply to, once one was selected.
  package private(set) var selected: String?

  init(rsp: RSPClient) { self.rsp = rsp }

  /// Stops the machine if it runs; returns the stop (a breakpoint may have been hit first), or nil when it was
  /// already stopped.
  @discardableResult
  package func stop(deadline: Deadline) async throws -> StopReply? {
    guard await rsp.state != .stopped else { return nil }
    return try await rsp.interrupt(deadline: deadline)
  }

  /// Lets the machine run; `nextStop` reports where it stops.
  package func run() async throws { try await rsp.resume() }

  /// Waits until a CPU stops (at an armed breakpoint, or stopped by `stop`).
  /// - Throws: `DeadlineExceeded` when none does in time (the machine still runs then).
  package func nextStop(deadline: Deadline) async throws -> StopReply { try await rsp.waitForStop(deadline: deadline) }

  /// Arms a hardware breakpoint at `address` (the machine stopped).
  package func arm(_ address: UInt64, deadline: Deadline) async throws {
    guard !armed.contains(address) else { return }
    try await rsp.insertBreakpoint(.hardware, at: address, deadline: deadline)
    armed.insert(address)
  }

  /// Removes the breakpoint at `address` (the machine stopped).
  package func disarm(_ address: UInt64, deadline: Deadline) async throws {
    guard armed.contains(address) else { return }
    try await rsp.removeBreakpoint(.hardware, at: address, deadline: deadline)
    armed.remove(address)
  }

  /// Selects the CPU (stub thread) that register and memory reads apply to.
  package func select(_ thread: String, deadline: Deadline) async throws {
    try await rsp.selectThread(thread, deadline: deadline)
    selected = thread
  }

  /// Steps the selected CPU, stopped at the armed breakpoint `address`, past it, and arms it again — past it for
  /// certain (`RSPClient.step(leaving:)`): a CPU left at the breakpoint would stop there once more, one pass
  /// counted twice.
  package func stepOver(_ address: UInt64, deadline: Deadline) async throws {
    let wasArmed = armed.contains(address)
    try await disarm(address, deadline: deadline)
    _ = try await rsp.step(leaving: address, deadline: deadline)
    if wasArmed { try await arm(address, deadline: deadline) }
  }

  /// Where the stopped CPU `thread` is (it becomes the selected CPU).
  package func cpuState(thread: String?, deadline: Deadline) async throws -> CPUStop {
    let state = try await rsp.cpuState(thread: thread ?? "1", deadline: deadline)
    selected = state.thread
    return state
  }

  /// The way out: stops the machine if it runs, removes every breakpoint still armed and lets the machine run.
  /// A step that fails is passed over so that the others are still tried; the first failure is thrown.
  func release(deadline: Deadline) async throws {
    var failure: (any Error)?
    do { try await stop(deadline: deadline) } catch { failure = failure ?? error }
    for address in armed.sorted() {
      do { try await disarm(address, deadline: deadline) } catch { failure = failure ?? error }
    }
    if await rsp.state != .closed {
      do { try await run() } catch { failure = failure ?? error }
    }
    if let failure { throw failure }
  }
}

extension RSPClient {
  /// Stops the machine, runs `body` with it stopped, and lets it run again — also when `body` throws or the
  /// task is cancelled — with every breakpoint `body` armed removed.
  package func halted<T: Sendable>(deadline: Deadline, _ body: @Sendable (Halt) async throws -> T) async throws -> T {
    try await sessions.exclusive("a stopped machine", deadline: deadline) {
      let halt = Halt(rsp: self)
      try await halt.stop(deadline: deadline)
      return try await Self.scoped(halt, body)
    }
  }

  /// Arms hardware breakpoints at `addresses` (stopping the machine to do it), lets the machine run and runs
  /// `body`, which takes the stops with `nextStop`; afterwards, whatever happened, the machine runs with none of
  /// the breakpoints armed.
  package func breaking<T: Sendable>(at addresses: [UInt64], deadline: Deadline, _ body: @Sendable (Halt) async throws -> T)
    async throws -> T
  {
    let what = "breakpoints at " + addresses.sorted().map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
    return try await sessions.exclusive(what, deadline: deadline) {
      let halt = Halt(rsp: self)
      try await halt.stop(deadline: deadline)
      return try await Self.scoped(halt) { halt in
        for address in addresses { try await halt.arm(address, deadline: deadline) }
        try await halt.run()
        return try await body(halt)
      }
    }
  }

  private static func scoped<T: Sendable>(_ halt: Halt, _ body: @Sendable (Halt) async throws -> T) async throws -> T {
    let result: T
    do {
      result = try await body(halt)
    } catch {
      try? await cleanUp(halt)
      throw error
    }
    try await cleanUp(halt)
    return result
  }

  /// The halt's release, with a deadline of its own (the body's may be what ran out) and outside the caller's
  /// task, so that a cancelled caller still leaves the stub clean.
  private static func cleanUp(_ halt: Halt) async throws {
    try await Task { try await halt.release(deadline: .after(.seconds(5))) }.value
  }
}

extension RSPClient {
  /// Where the stopped CPU `thread` is; it becomes the selected thread.
  package func cpuState(thread: String, deadline: Deadline) async throws -> CPUStop {
    try await selectThread(thread, deadline: deadline)
    let cpsr = try await readRegister("cpsr", deadline: deadline)
    let pc = try await readRegister("pc", deadline: deadline)
    let el = Int((cpsr >> 2) & 3)
    let scr = try await readRegister("SCR_EL3", deadline: deadline)
    return CPUStop(thread: thread, pc: pc, exceptionLevel: el, secure: el == 3 || scr & 1 == 0)
  }
}
