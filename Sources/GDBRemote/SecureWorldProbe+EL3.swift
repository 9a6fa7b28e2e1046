import Foundation
import HarnessSupport

/// What one CPU did after it was held in EL3 with an interrupt made pending meanwhile.
package struct AfterEL3: Sendable {
  /// The EL3 stop: TF-A taking a yielding call from the normal world, about to enter OP-TEE.
  package var stop: CPUStop
  /// The SMC function id of that call.
  package var call: UInt64
  /// What the held CPU executed of the watched symbols once let go, up to the one that ended the watch.
  package var log: [WatchHit]
}

extension SecureWorldProbe {
  /// The GIC distributor's set-pending registers (QEMU virt: GICD at 0x0800_0000, `GICD_ISPENDR<n>` at 0x200).
  static let gicdISPENDR: UInt64 = 0x0800_0200

  /// Holds CPU `cpu` (0 for the first) in EL3 at TF-A's SMC handler `handlerSymbol` (`opteed_smc_handler`,
  /// `spmd_smc_handler`) as it takes a call from the normal world that `entering` says will enter OP-TEE (by x0),
  /// runs `whileHeld` with the machine stopped (e.g. makes an interrupt pending), then lets the machine go and logs what that CPU executes of `symbols` until it executes `until`
  /// — or, with `orAfter`, until that long after it executed that symbol (the log then ends without `until`: what
  /// should have followed it at once did not).
  /// Other CPUs' hits are stepped over and not logged. `prompt` runs once the breakpoint is armed, alongside, to
  /// make such a call (a stack without periodic calls makes none on its own); its result is returned with the log.
  /// - Throws: `DeadlineExceeded` when no such call comes or `until` is not reached in time; `HarnessError`
  ///   when the images lack a symbol.
  package func afterHeldInEL3<Prompted: Sendable>(cpu: Int, at handlerSymbol: String, entering: @escaping @Sendable (UInt64) -> Bool,
    symbols: [String], until: String, orAfter: (symbol: String, grace: Duration)? = nil, deadline: Deadline, settle: Duration = .seconds(10),
    prompt: @escaping @Sendable () async throws -> Prompted,
    whileHeld: @Sendable (CPUStop) async throws -> Void) async throws -> (seen: AfterEL3, prompted: Prompted)
  {
    let handler = try address(of: handlerSymbol)
    let names = Dictionary(try (symbols + [until] + (orAfter.map { [$0.symbol] } ?? [])).map { (try address(of: $0), $0) },
      uniquingKeysWith: { a, _ in a })
    let prompting = Task { try await prompt() }
    let progress = Progress()
    let seen: AfterEL3
    do {
      seen = try await rsp.breaking(at: [handler], deadline: deadline) { halt in
        // 1. Wait for the right call on the right CPU, stepping over the others.
        var held: (stop: CPUStop, call: UInt64)?
        while held == nil {
          let stop = try await halt.nextStop(deadline: deadline)
          let state = try await halt.cpuState(thread: stop.thread, deadline: deadline)
          let fromNormalWorld = try await rsp.readRegister("SCR_EL3", deadline: deadline) & 1 == 1
          let call = try await rsp.readRegister("x0", deadline: deadline)
          if state.cpu == cpu && state.pc == handler && fromNormalWorld && entering(call) {
            held = (state, call)
          } else {
            try await halt.stepOver(state.pc, deadline: deadline)
            try await halt.run()
          }
        }
        await progress.held()
        try await halt.disarm(handler, deadline: deadline)
        try await whileHeld(held!.stop)
        // 2. Let go, and log what the held CPU does: a healthy stack gets to `until` at once (within a second
        // here); `settle` allows for a busy host and a storm of breakpoints stepped over.
        for address in names.keys { try await halt.arm(address, deadline: deadline) }
        try await halt.run()
        let released = Swift.min(deadline, .after(settle))
        while true {
          let hits = await progress.hits
          let graceOver = orAfter.flatMap { after in hits.first { $0.name == after.symbol }.map { Deadline($0.at + after.grace) } }
          // Other CPUs' hits may keep coming: the grace ends the watch whether or not the wait times out.
          if graceOver?.hasPassed == true { break }
          let stop: StopReply
          do {
            stop = try await halt.nextStop(deadline: Swift.min(released, graceOver ?? released))
          } catch is DeadlineExceeded where graceOver?.hasPassed == true {
            break
          }
          let at = ContinuousClock.now
          let state = try await halt.cpuState(thread: stop.thread, deadline: deadline)
          guard let name = names[state.pc] else { try await halt.run(); continue }
          if state.cpu == cpu {
            await progress.log(WatchHit(name: name, cpu: cpu, at: at))
            if name == until { break }
          }
          try await halt.stepOver(state.pc, deadline: deadline)
          try await halt.run()
        }
        return AfterEL3(stop: held!.stop, call: held!.call, log: await progress.hits)
      }
    } catch {
      prompting.cancel()
      if error is DeadlineExceeded {
        let hits = await progress.hits
        throw DeadlineExceeded(await progress.wasHeld
          ? "CPU \(cpu) never executed \(until) after it left EL3 (it executed: \(Self.trail(hits.map(\.name))))"
          : "CPU \(cpu) took no yielding call into OP-TEE through EL3 in time",
          after: .zero)
      }
      throw error
    }
    let prompted = try await withDeadline(deadline, "the prompt of a call into OP-TEE") { try await prompting.value }
    return (seen, prompted)
  }

  /// The names a CPU executed, in order, a run of the same few written once with its count; at most 12 runs: a
  /// storm of different ones is its first 8, a count, and its last 4.
  static func trail(_ names: [String]) -> String { RepeatedRuns.trail(names, empty: "nothing watched", limit: 12) }

  /// How far a hold in EL3 got, for the message when it runs out of time.
  private actor Progress {
    var wasHeld = false
    var hits: [WatchHit] = []
    func held() { wasHeld = true }
    func log(_ hit: WatchHit) { hits.append(hit) }
  }

  /// Waits, with the machine stopped, until the GIC distributor shows interrupt `intid` (an SPI) pending, read
  /// through the selected CPU (stopped in EL3, where TF-A maps the GIC).
  /// - Throws: `DeadlineExceeded` when it never becomes pending.
  package func waitPending(intid: Int, deadline: Deadline) async throws {
    let register = Self.gicdISPENDR + UInt64(intid / 32 * 4)
    while try await rsp.readInteger(register, size: 4, deadline: deadline) & (1 << UInt64(intid % 32)) == 0 {
      if deadline.hasPassed { throw DeadlineExceeded("INTID \(intid) never became pending in the GIC", after: .zero) }
      try await Task.sleep(for: .milliseconds(5))  // the device model runs on QEMU's main loop meanwhile
    }
  }
}

extension SecureWorldProbe {
  /// Stops the machine for a moment and says where CPU `cpu` (0 for the first) is: its exception level and world.
  package func whereIs(cpu: Int, deadline: Deadline = .after(.seconds(5))) async throws -> CPUStop {
    try await rsp.halted(deadline: deadline) { halt in
      try await halt.cpuState(thread: String(cpu + 1, radix: 16), deadline: deadline)
    }
  }

  /// Where CPU `cpu` is and the vector table it takes exceptions to (`VBAR_EL1`), read in one stop. In S-EL0 that
  /// is the table OP-TEE maps for user mode (an alias of its own when it unmaps its kernel at EL0), whose
  /// entries for exceptions from a lower EL are at +0x400 (sync), +0x480 (IRQ) and +0x500 (FIQ).
  package func vectorBase(cpu: Int, deadline: Deadline = .after(.seconds(5))) async throws -> (stop: CPUStop, vbar: UInt64) {
    try await rsp.halted(deadline: deadline) { halt in
      let thread = String(cpu + 1, radix: 16)
      let stop = try await halt.cpuState(thread: thread, deadline: deadline)
      try await halt.select(thread, deadline: deadline)
      // QEMU's stub names VBAR_EL1 by its AArch32 alias.
      return (stop, try await rsp.readRegister("VBAR", deadline: deadline))
    }
  }
}
