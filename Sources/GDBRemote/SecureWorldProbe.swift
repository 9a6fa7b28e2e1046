import Foundation
import HarnessSupport

/// Where a CPU was when it stopped.
package struct CPUStop: Sendable, Equatable {
  package var thread: String
  package var pc: UInt64
  /// 0…3, from PSTATE.M.
  package var exceptionLevel: Int
  /// In the secure state: at EL3, or with `SCR_EL3.NS` clear.
  package var secure: Bool
  /// The CPU's index (0 for the first): GDB threads are CPUs numbered from 1, in hex, maybe as `p1.02`.
  package var cpu: Int { Self.cpu(ofThread: thread) }
  package static func cpu(ofThread thread: String) -> Int {
    (Int(thread.split(separator: ".").last.map(String.init) ?? thread, radix: 16) ?? 1) - 1
  }
  package var description: String { "CPU \(cpu) at EL\(exceptionLevel) \(secure ? "secure" : "non-secure"), pc 0x\(String(pc, radix: 16))" }
}

/// One OP-TEE thread context and its state.
package struct OpteeThread: Sendable, Equatable, CustomStringConvertible {
  package var index: Int
  package var state: String
  package var isFree: Bool { state == "FREE" }
  package var description: String { "thread \(index) \(state)" }

  /// The ACTIVE threads of `table` when there are more of them than CPUs in the secure state at the same stop
  /// (`cpus`), else none. OP-TEE marks a thread ACTIVE only while a CPU runs it in the secure world (a thread that
  /// returns to the normal world — done, for an RPC or for a foreign interrupt — is FREE or SUSPENDED first): a
  /// thread ACTIVE beyond what the secure CPUs can run was left so, and the call on it never comes back.
  package static func stranded(_ table: [OpteeThread], cpus: [CPUStop]) -> [OpteeThread] {
    let active = table.filter { $0.state == "ACTIVE" }
    return active.count > cpus.count(where: \.secure) ? active : []
  }
}

/// Reads the secure world's truth through the GDB stub. Secure memory can only be read through a CPU that is
/// stopped in the secure world, so every read happens at a breakpoint on an OP-TEE function: by default
/// `interrupt_main_handler`, which every secure interrupt runs (the secure timer of OP-TEE's callouts enters it
/// every second; when a stack has no callouts the probe makes it run by sending a byte to the secure console).
package struct SecureWorldProbe: Sendable {
  package let rsp: RSPClient
  package let tee: ELFSymbols
  /// TF-A's BL31 (EL3), when its symbols could be read.
  package let firmware: ELFSymbols?
  package let layout: OpteeLayout
  /// The secure world is entered periodically (OP-TEE callouts on the secure timer).
  package let periodicEntry: Bool
  /// Makes a CPU enter the secure world now (a byte to the secure console raises its UART interrupt).
  package let poke: @Sendable () async throws -> Void

  package init(rsp: RSPClient, tee: ELFSymbols, firmware: ELFSymbols? = nil, layout: OpteeLayout, periodicEntry: Bool,
    poke: @escaping @Sendable () async throws -> Void)
  {
    self.rsp = rsp
    self.tee = tee
    self.firmware = firmware
    self.layout = layout
    self.periodicEntry = periodicEntry
    self.poke = poke
  }

  /// Pokes now and every `interval` until cancelled: for a stop one byte may not bring — OP-TEE reading its
  /// console in a bottom half takes a byte that arrives before the bottom half runs with no interrupt of its own.
  package func pokeUntilCancelled(every interval: Duration = .milliseconds(500)) async throws {
    while true {
      try await poke()
      try await Task.sleep(for: interval)
    }
  }

  /// The address of `symbol` in OP-TEE (tee.elf), else in TF-A's BL31 (bl31.elf).
  /// - Throws: `HarnessError` when neither has it.
  package func address(of symbol: String) throws -> UInt64 {
    if let found = tee.byName[symbol] { return found.address }
    if let found = firmware?.byName[symbol] { return found.address }
    return try tee.address(symbol)
  }

  /// Stops the machine the next time a CPU executes `symbol`, runs `body` with that CPU selected, and lets the
  /// machine run again (also when `body` throws).
  /// - Throws: `DeadlineExceeded` when no CPU gets there in time; `HarnessError` when the stop is not in the
  ///   secure world and `requireSecure` is set (never garbage read from the wrong world).
  /// `prompt`, when given, replaces the poke: it starts once the breakpoint is armed and may only end once the
  /// machine runs again (a guest command that makes a CPU enter the secure world); it is awaited before returning.
  package func whenStopped<T: Sendable>(at symbol: String = "interrupt_main_handler", requireSecure: Bool = true,
    poke usePoke: Bool? = nil, prompt: (@Sendable () async throws -> Void)? = nil, deadline: Deadline = .after(.seconds(5)),
    _ body: @Sendable (CPUStop) async throws -> T) async throws -> T
  {
    let address = try self.address(of: symbol)
    let started = ContinuousClock.now
    let (result, prompted) = try await rsp.breaking(at: [address], deadline: deadline) { halt in
      let stop: StopReply
      let prompted = prompt.map { prompt in Task { try await prompt() } }
      do {
        if prompt == nil, usePoke ?? !periodicEntry { try await poke() }
        stop = try await halt.nextStop(deadline: deadline)
      } catch is DeadlineExceeded {
        throw DeadlineExceeded("no CPU executed \(symbol) (\(tee.file)) in time", after: .now - started)
      }
      try await halt.disarm(address, deadline: deadline)
      let cpu = try await halt.cpuState(thread: stop.thread, deadline: deadline)
      if requireSecure && !cpu.secure {
        throw HarnessError("stopped at \(symbol) but \(cpu.description): secure memory cannot be read from there")
      }
      let result = try await body(cpu)
      // Past the symbol's first instruction: a breakpoint armed there next sees the next call, not this one again.
      // Its own time: a body that used up the stop's deadline keeps its result.
      try await halt.select(stop.thread ?? cpu.thread, deadline: .after(.seconds(5)))
      try await halt.stepOver(address, deadline: .after(.seconds(5)))
      return (result, prompted)
    }
    try await prompted?.value
    return result
  }

  /// OP-TEE's thread table, read from a CPU stopped in the secure world. `poke` makes a CPU enter it at once
  /// (a byte to the secure console) instead of at the next periodic entry; nil pokes only when there is none.
  package func threadTable(poke: Bool? = nil, deadline: Deadline = .after(.seconds(5))) async throws -> [OpteeThread] {
    try await whenStopped(poke: poke, deadline: deadline) { _ in try await readThreadTable(deadline: deadline) }
  }

  /// OP-TEE's thread table and where every CPU is, read at one stop in the secure world (see `OpteeThread.stranded`).
  package func threadsAndCPUs(deadline: Deadline = .after(.seconds(5))) async throws -> (table: [OpteeThread], cpus: [CPUStop]) {
    try await whenStopped(deadline: deadline) { _ in
      let table = try await readThreadTable(deadline: deadline)
      var cpus: [CPUStop] = []
      for thread in try await rsp.threads(deadline: deadline) { cpus.append(try await rsp.cpuState(thread: thread, deadline: deadline)) }
      return (table, cpus)
    }
  }

  /// OP-TEE's thread table, read where OP-TEE takes the standard call `call` makes (a guest command), before it
  /// takes a thread for it: for a stack whose secure interrupts do not reach OP-TEE.
  package func threadTable(atStandardCall call: @escaping @Sendable () async throws -> Void, deadline: Deadline) async throws
    -> [OpteeThread]
  {
    try await whenStopped(at: standardCallEntry, prompt: call, deadline: deadline) { _ in try await readThreadTable(deadline: deadline) }
  }

  /// Reads the thread table (at each secure interrupt, ~1 s apart) until every thread is FREE or `deadline`
  /// passes; returns the last table read.
  package func threadTableOnceFree(deadline: Deadline) async throws -> [OpteeThread] {
    var table = try await threadTable()
    while table.contains(where: { !$0.isFree }) && !deadline.hasPassed { table = try await threadTable() }
    return table
  }

  /// Reads the thread table through the selected CPU, which must be stopped in the secure world.
  package func readThreadTable(deadline: Deadline) async throws -> [OpteeThread] {
    let count = try await rsp.readInteger(try tee.address("thread_count"), size: layout.threadCountSize, deadline: deadline)
    guard count > 0, count <= 64 else { throw HarnessError("OP-TEE's thread_count reads as \(count): not a thread table") }
    let threads = try tee.address("threads")
    let base = layout.threadsIsPointer ? try await rsp.readInteger(threads, size: 8, deadline: deadline) : threads
    guard base != 0 else { throw HarnessError("OP-TEE's threads pointer is null (read before boot allocated it?)") }
    var table: [OpteeThread] = []
    for i in 0..<Int(count) {
      // The base is the guest's word: a table that would wrap around the address space is not a table.
      let (address, wrapped) = base.addingReportingOverflow(UInt64(i * layout.threadCtxSize + layout.stateOffset))
      guard !wrapped else { throw HarnessError("OP-TEE's threads pointer reads as 0x\(String(base, radix: 16)): not a thread table") }
      let value = try await rsp.readInteger(address, size: layout.stateSize, deadline: deadline)
      table.append(OpteeThread(index: i, state: layout.stateName(value)))
    }
    return table
  }

  /// How many times CPUs executed `symbol` within `window` (a breakpoint counted and stepped over each time).
  package func countHits(of symbol: String, over window: Duration) async throws -> Int {
    // The window is the measurement itself: the machine runs on while the watch counts.
    try await watching(try tee.address(symbol)) { _ in try await Task.sleep(for: window) }.hits
  }
}
