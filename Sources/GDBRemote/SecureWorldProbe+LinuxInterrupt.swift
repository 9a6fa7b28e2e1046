import Foundation
import HarnessSupport

/// A moment on the system counter: the physical count (CNTPCT) and the counter's frequency (CNTFRQ).
package struct CounterReading: Sendable, Equatable {
  package var count: UInt64
  package var frequency: UInt64
  package init(count: UInt64, frequency: UInt64) {
    self.count = count
    self.frequency = frequency
  }
  /// The moment on OP-TEE's system-time scale: the milliseconds `TEE_GetSystemTime` would have said (OP-TEE reads
  /// the physical counter; only under an S-EL2 SPMC, which no stack here has, the virtual one).
  package var milliseconds: Double { frequency == 0 ? .nan : Double(count) / Double(frequency) * 1000 }
}

/// Linux's reschedule IPIs raised through the GIC, and when Linux then first took an interrupt on each CPU.
package struct LinuxInterrupts: Sendable, Equatable {
  /// When the IPIs were made pending (the machine stopped), read by OP-TEE's own counter read.
  package var raised: CounterReading
  /// Each CPU that took an interrupt in time: the first time it entered Linux's IRQ vector after the raise.
  package var taken: [Taken]
  package struct Taken: Sendable, Equatable {
    package var cpu: Int
    /// Host seconds from letting the machine run after the raise to the CPU's stop at Linux's vector. The counter
    /// follows QEMU's virtual clock, which runs with the host's and stands still while the machine is stopped, so
    /// the guest's own time between the two is at most this.
    package var seconds: Double
    package init(cpu: Int, seconds: Double) {
      self.cpu = cpu
      self.seconds = seconds
    }
  }
  package init(raised: CounterReading, taken: [Taken]) {
    self.raised = raised
    self.taken = taken
  }
}

/// `MRS Xt, <counter>` without its register: the ways to read the system counter.
enum CounterRead: UInt32, CaseIterable {
  case cntpct = 0xD53B_E020, cntvct = 0xD53B_E040, cntpctss = 0xD53B_E0A0, cntvctss = 0xD53B_E0C0
  /// The virtual count is the physical one less CNTVOFF_EL2.
  var isVirtual: Bool { self == .cntvct || self == .cntvctss }

  /// The first counter read in `code` (little-endian instructions): its offset, kind and destination register.
  static func first(in code: [UInt8]) -> (offset: Int, kind: CounterRead, register: Int)? {
    for i in stride(from: 0, to: code.count - 3, by: 4) {
      let word = UInt32(code[i]) | UInt32(code[i + 1]) << 8 | UInt32(code[i + 2]) << 16 | UInt32(code[i + 3]) << 24
      if let kind = CounterRead(rawValue: word & ~0x1f), word & 0x1f != 31 { return (i, kind, Int(word & 0x1f)) }
    }
    return nil
  }
}

extension SecureWorldProbe {
  /// Linux's IRQ vectors: from the kernel itself (+0x280, EL1h) and from 64-bit user space (+0x480), by the vector
  /// table (`VBAR_EL1`, one per CPU with Spectre-BHB's tables) of every CPU found in Linux's kernel (non-secure EL1),
  /// each looked at in a stop of its own. (A kernel that unmaps itself at EL0 takes user space's IRQs through a
  /// trampoline elsewhere: those are missed, the kernel's own are not.)
  /// - Throws: `HarnessError` when no CPU is in Linux then.
  package func linuxIRQVectors(deadline: Deadline = .after(.seconds(5))) async throws -> [UInt64] {
    var bases: Set<UInt64> = []
    for cpu in 0..<(try await cpuCount(deadline: deadline)) {
      let (stop, vbar) = try await vectorBase(cpu: cpu, deadline: deadline)
      if !stop.secure, stop.exceptionLevel == 1, vbar != 0 { bases.insert(vbar) }
    }
    guard !bases.isEmpty else { throw HarnessError("no CPU was in Linux's kernel to read its vector table (VBAR_EL1) from") }
    return bases.sorted().flatMap { [$0 + 0x280, $0 + 0x480] }
  }

  /// The GIC redistributor register frame of CPU `cpu` as OP-TEE maps it (`gic_data.gicr_base[cpu]`, after
  /// `gicc_base` and `gicd_base`), read through the selected CPU, stopped in the secure world. Checked to be a
  /// GICv3 redistributor (GICR_PIDR2) that belongs to that CPU (GICR_TYPER's affinity 0: the CPU's index on QEMU's
  /// virt machine).
  /// - Throws: `HarnessError` when the field is not such a mapping.
  func gicRedistributor(of cpu: Int, deadline: Deadline) async throws -> UInt64 {
    let field = try tee.address("gic_data") + 16 + 8 * UInt64(cpu)
    let base = try await rsp.readInteger(field, size: 8, deadline: deadline)
    guard base != 0, base & 0xfff == 0 else {
      throw HarnessError("OP-TEE's gic_data.gicr_base[\(cpu)] reads as 0x\(String(base, radix: 16)): not a mapping of a GIC redistributor")
    }
    let pidr2 = try await rsp.readInteger(base + Self.gicdPIDR2Offset, size: 4, deadline: deadline)
    let typer = try await rsp.readInteger(base + 0x8, size: 8, deadline: deadline)
    guard (pidr2 >> 4) & 0xf >= 3, (typer >> 32) & 0xff == UInt64(cpu) else {
      throw HarnessError("OP-TEE's gic_data.gicr_base[\(cpu)] maps a frame whose GICR_PIDR2 reads 0x\(String(pidr2, radix: 16)) and GICR_TYPER 0x\(String(typer, radix: 16)): not CPU \(cpu)'s GICv3 redistributor")
    }
    return base
  }

  /// Makes SGI `sgi` pending on CPU `cpu` (GICR_ISPENDR0 in its redistributor's SGI frame), stored by the selected
  /// CPU, stopped in the secure world; returns whether it reads back pending.
  func raise(sgi: Int, on cpu: Int, deadline: Deadline) async throws -> Bool {
    let register = try await gicRedistributor(of: cpu, deadline: deadline) + 0x1_0000 + Self.gicdISPENDROffset
    try await store32(1 << UInt32(sgi), at: register, deadline: deadline)
    return try await rsp.readInteger(register, size: 4, deadline: deadline) & (1 << UInt64(sgi)) != 0
  }

  /// The system counter, read on the selected CPU, stopped in OP-TEE: it executes once the counter read of OP-TEE's
  /// own `read_cntpct` (or of the first of its time functions that holds one), its register put back afterwards.
  /// - Throws: `HarnessError` when none holds a counter read, or the step does not end after it.
  func counter(deadline: Deadline) async throws -> CounterReading {
    let readers = ["read_cntpct", "barrier_read_counter_timer", "tee_time_get_sys_time"]
    for reader in readers.compactMap({ tee.byName[$0]?.address }) {
      guard let read = CounterRead.first(in: try await rsp.readMemory(reader, count: 128, deadline: deadline)) else { continue }
      let instruction = reader + UInt64(read.offset), register = "x\(read.register)"
      let (after, value) = try await executeOnce(instruction, with: [register: 0], reading: register, deadline: deadline)
      guard after == instruction + 4, let value else {
        throw HarnessError("reading the counter through OP-TEE's instruction at 0x\(String(instruction, radix: 16)): the step ended at 0x\(String(after, radix: 16))")
      }
      let offset = read.kind.isVirtual ? (try? await rsp.readRegister("CNTVOFF_EL2", deadline: deadline)) ?? 0 : 0
      return CounterReading(count: value &+ offset, frequency: try await rsp.readRegister("CNTFRQ_EL0", deadline: deadline))
    }
    throw HarnessError("no MRS of the system counter in OP-TEE's \(readers.joined(separator: ", ")) (\(tee.file))")
  }

  /// Raises Linux's reschedule IPI (SGI 0, harmless when nothing waits for it) on each of
  /// `cpus` through the GIC — from a CPU stopped where OP-TEE takes an interrupt, through OP-TEE's own mapping of
  /// each CPU's redistributor, the counter read there — and returns, for each of them, how soon after Linux then
  /// entered one of its IRQ `vectors` there (`linuxIRQVectors`); a CPU where Linux took none before `deadline` is
  /// absent. A CPU may be anywhere: in Linux it takes the IPI at once, in the secure world only once OP-TEE leaves
  /// for it.
  /// - Throws: `DeadlineExceeded` when no CPU enters OP-TEE to raise the IPIs from in time; `HarnessError` when the
  ///   GIC or OP-TEE's code is not what it should be.
  package func linuxInterrupts(raisingOn cpus: [Int], vectors: [UInt64], deadline: Deadline) async throws -> LinuxInterrupts {
    let entry = try address(of: "interrupt_main_handler"), started = ContinuousClock.now
    return try await rsp.breaking(at: [entry], deadline: deadline) { halt in
      let poking = periodicEntry ? nil : Task { try await pokeUntilCancelled() }
      defer { poking?.cancel() }
      var raised: (reading: CounterReading, running: ContinuousClock.Instant)?
      var taken: [LinuxInterrupts.Taken] = []
      while taken.count < cpus.count {
        let stop: StopReply
        do {
          stop = try await halt.nextStop(deadline: deadline)
        } catch is DeadlineExceeded where raised != nil {
          break
        } catch is DeadlineExceeded {
          throw DeadlineExceeded("no CPU entered OP-TEE's interrupt_main_handler to raise Linux's IPIs from", after: .now - started)
        }
        let stopped = ContinuousClock.now
        // Each step at a stop has a deadline of its own: the whole one may be nearly used up by the waiting.
        let step = Deadline.after(.seconds(5))
        let at = try await halt.cpuState(thread: stop.thread, deadline: step)
        if raised == nil, at.pc == entry, at.secure {
          poking?.cancel()
          for cpu in cpus {
            guard try await raise(sgi: 0, on: cpu, deadline: step) else {
              throw HarnessError("SGI 0 set pending in CPU \(cpu)'s redistributor through OP-TEE's mapping does not read back pending")
            }
          }
          // Read after the stores (each a step of the machine, during which the guest's clock runs).
          let reading = try await counter(deadline: step)
          try await halt.disarm(entry, deadline: step)
          for address in vectors { try await halt.arm(address, deadline: step) }
          raised = (reading, .now)
        } else if let since = raised?.running, vectors.contains(at.pc), cpus.contains(at.cpu), !taken.contains(where: { $0.cpu == at.cpu }) {
          taken.append(LinuxInterrupts.Taken(cpu: at.cpu, seconds: (stopped - since).seconds))
          try await halt.stepOver(at.pc, deadline: step)
        } else {
          try await halt.stepOver(at.pc, deadline: step)
        }
        try await halt.run()
      }
      guard let raised else { throw HarnessError("the IPIs were never raised") }
      return LinuxInterrupts(raised: raised.reading, taken: taken)
    }
  }

  /// How many CPUs the machine has (the stub's threads).
  package func cpuCount(deadline: Deadline) async throws -> Int {
    try await rsp.halted(deadline: deadline) { _ in try await rsp.threads(deadline: deadline).count }
  }
}
