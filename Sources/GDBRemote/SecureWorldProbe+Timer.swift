import Foundation
import HarnessSupport

/// What re-arming the secure physical timer found and did.
package struct SecureTimerRearm: Sendable, Equatable {
  /// The CPUs whose secure timer was enabled (`CNTPS_CTL_EL1.ENABLE`), and so re-armed.
  package var cpus: [Int]
  /// The compare value written back on each, in counter ticks.
  package var compareValues: [UInt64]
}

extension SecureWorldProbe {
  /// `MSR CNTPS_CVAL_EL1, Xt` without its register field: the instruction that re-arms the timer.
  static let msrCNTPSCVAL: UInt32 = 0xd51f_e240

  /// Makes QEMU arm again the secure physical timer of every CPU whose timer OP-TEE left enabled.
  ///
  /// A restored machine carries the timer's registers, but QEMU (7.2) does not migrate the host timer behind
  /// them, so OP-TEE's callouts would never fire again. Writing the compare value back — its own value, from the
  /// secure world — makes QEMU recompute it. The harness executes that one instruction of OP-TEE's own timer code
  /// (`MSR CNTPS_CVAL_EL1`, found in `timer_set_next`) on the CPU, stopped in OP-TEE where the secure console's
  /// interrupt enters it, then puts the CPU back exactly as it was.
  /// - Throws: `HarnessError` when the timer is armed on a CPU other than the one the console's interrupt
  ///   reaches, or the instruction is not found; `DeadlineExceeded` when OP-TEE is not entered in time.
  ///
  /// `call(cpu)`, when given, makes a standard call into OP-TEE from the normal world on `cpu` (it ends only once
  /// the machine runs on): the CPU is then stopped where OP-TEE takes standard calls, a path that needs no
  /// interrupt — so a stack whose secure interrupts are broken can still be restored, and its suites say what
  /// is broken. Without it, a byte at the secure console makes OP-TEE take the console's interrupt.
  package func rearmSecureTimer(deadline: Deadline, call: (@Sendable (Int) async throws -> Void)? = nil) async throws -> SecureTimerRearm {
    let armed = try await rsp.halted(deadline: deadline) { halt in try await armedTimers(halt, deadline: deadline) }
    var done: [Int] = []
    // The console's own handler, before it reads the byte: the stop is then surely the byte's (not the
    // timer's, which may be due), and the byte is read as soon as the CPU runs on. Without that handler, any
    // interrupt OP-TEE takes (interrupt_main_handler) will do.
    let byCall = call != nil && tee.byName[standardCallEntry] != nil
    let handler = byCall ? standardCallEntry : tee.byName["console_itr_cb"] != nil ? "console_itr_cb" : "interrupt_main_handler"
    while done.count < armed.count {
      let doneSoFar = done
      let target = armed.first { !done.contains($0.cpu) }!.cpu
      let prompt: (@Sendable () async throws -> Void)? = byCall ? { @Sendable in try await call?(target) } : nil
      let rearmed = try await whenStopped(at: handler, poke: true, prompt: prompt, deadline: deadline) { cpu in
        guard let target = armed.first(where: { $0.cpu == cpu.cpu }), !doneSoFar.contains(cpu.cpu) else {
          throw HarnessError("the secure timer is enabled on CPU \(armed.map(\.cpu)) but OP-TEE was entered on CPU \(cpu.cpu)")
        }
        try await writeCompareValue(target.cval, cpu: cpu.cpu, deadline: deadline)
        return cpu.cpu
      }
      done.append(rearmed)
    }
    return SecureTimerRearm(cpus: armed.map(\.cpu), compareValues: armed.map(\.cval))
  }

  /// Where OP-TEE takes a standard call from the normal world, before it takes a thread for it: on the classic SMC
  /// ABI `thread_handle_std_smc`, for an FF-A direct request (OP-TEE as SPMC) `handle_yielding_call`.
  package var standardCallEntry: String {
    tee.byName["thread_handle_std_smc"] != nil ? "thread_handle_std_smc" : "handle_yielding_call"
  }

  /// The secure timer's compare value (`CNTPS_CVAL_EL1`) by CPU, for each CPU whose timer OP-TEE left enabled, read
  /// with the machine stopped for a moment. OP-TEE sets a new one each time the timer fires (its callouts' next
  /// expiry): a value that moved is the timer running.
  package func secureTimerCompareValues(deadline: Deadline) async throws -> [Int: UInt64] {
    try await rsp.halted(deadline: deadline) { halt in
      Dictionary(try await armedTimers(halt, deadline: deadline).map { ($0.cpu, $0.cval) }, uniquingKeysWith: { a, _ in a })
    }
  }

  /// The CPUs whose secure timer OP-TEE left enabled (`CNTPS_CTL_EL1.ENABLE`), with their compare values,
  /// read through the stub from a stopped machine (the registers read from any world).
  func armedTimers(_ halt: Halt, deadline: Deadline) async throws -> [ArmedTimer] {
    var armed: [ArmedTimer] = []
    for thread in try await rsp.threads(deadline: deadline) {
      try await halt.select(thread, deadline: deadline)
      if try await rsp.readRegister("CNTPS_CTL_EL1", deadline: deadline) & 1 == 1 {
        armed.append(ArmedTimer(cpu: CPUStop.cpu(ofThread: thread), thread: thread,
          cval: try await rsp.readRegister("CNTPS_CVAL_EL1", deadline: deadline)))
      }
    }
    return armed
  }

  /// On the selected CPU, stopped in the secure world: executes OP-TEE's own `MSR CNTPS_CVAL_EL1, Xt` (in its
  /// register accessor, or inlined into timer_set_next) once with `cval`, which makes QEMU arm the timer, and
  /// puts the PC and Xt back.
  func writeCompareValue(_ cval: UInt64, cpu: Int, deadline: Deadline) async throws {
    let places = ["write_cntps_cval", "timer_set_next"].compactMap { tee.byName[$0]?.address }
    var found: (address: UInt64, instruction: UInt32)?
    for place in places where found == nil {
      let code = try await rsp.readMemory(place, count: 64, deadline: deadline)
      for i in stride(from: 0, to: code.count - 3, by: 4) {
        let word = UInt32(code[i]) | UInt32(code[i + 1]) << 8 | UInt32(code[i + 2]) << 16 | UInt32(code[i + 3]) << 24
        if word & ~0x1f == Self.msrCNTPSCVAL { found = (place + UInt64(i), word); break }
      }
    }
    guard let (instruction, word) = found else {
      throw HarnessError("no MSR CNTPS_CVAL_EL1 in the first 64 bytes of write_cntps_cval or timer_set_next (\(tee.file))")
    }
    let register = "x\(word & 0x1f)"
    let after = try await executeOnce(instruction, with: [register: cval], deadline: deadline).after
    guard after == instruction + 4 else {
      throw HarnessError("re-arming the secure timer on CPU \(cpu): the step ended at 0x\(String(after, radix: 16))")
    }
  }

  /// On the selected CPU, stopped: executes the one instruction at `instruction` with `registers` set, then puts
  /// the PC and those registers back as they were; returns where the step ended (the next instruction when it ran)
  /// and what `reading` (one of `registers`) held right after it.
  func executeOnce(_ instruction: UInt64, with registers: [String: UInt64], reading: String? = nil, deadline: Deadline) async throws
    -> (after: UInt64, read: UInt64?)
  {
    let savedPC = try await rsp.readRegister("pc", deadline: deadline)
    var saved: [(String, UInt64)] = []
    for (register, value) in registers.sorted(by: { $0.key < $1.key }) {
      saved.append((register, try await rsp.readRegister(register, deadline: deadline)))
      try await rsp.writeRegister(register, value, deadline: deadline)
    }
    try await rsp.writeRegister("pc", instruction, deadline: deadline)
    let after = try await rsp.step(leaving: instruction, deadline: deadline)
    var read: UInt64?
    if let reading { read = try await rsp.readRegister(reading, deadline: deadline) }
    for (register, value) in saved { try await rsp.writeRegister(register, value, deadline: deadline) }
    try await rsp.writeRegister("pc", savedPC, deadline: deadline)
    return (after, read)
  }
}

/// A CPU whose secure timer is enabled: its stub thread and compare value.
struct ArmedTimer: Sendable {
  var cpu: Int
  var thread: String
  var cval: UInt64
}
