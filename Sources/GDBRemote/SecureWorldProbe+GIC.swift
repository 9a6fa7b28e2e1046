import Foundation
import HarnessSupport

/// An interrupt's state in the GIC distributor.
package struct SPIState: Sendable, Equatable {
  package var pending: Bool
  package var active: Bool
  /// Forwarded to the CPUs (GICD_ISENABLER): a disabled interrupt stays pending and is never taken.
  package var enabled: Bool
  package var description: String {
    "\(pending ? "pending" : "not pending")\(active ? ", active" : ""), \(enabled ? "enabled" : "disabled")"
  }
  /// The state as a failure says it: a disabled interrupt with the register bit that says so.
  package var explained: String { "\(description)\(enabled ? "" : " (never enabled: GICD_ISENABLER's bit is clear)")" }
}

extension SecureWorldProbe {
  /// GICv3 distributor registers: set-pending, set-active (one bit per interrupt, 32 to a register), and the
  /// peripheral ID whose ArchRev field says the GIC's architecture.
  static let gicdISENABLEROffset: UInt64 = 0x100, gicdISPENDROffset: UInt64 = 0x200, gicdISACTIVEROffset: UInt64 = 0x300, gicdPIDR2Offset: UInt64 = 0xFFE8

  /// Where OP-TEE maps the GIC distributor (`gic_data.gicd_base`, the field after `gicc_base`), read through the
  /// selected CPU, which must be stopped in the secure world: writes through that mapping are secure, as a
  /// Secure Group 1 interrupt's set-pending bit needs. Checked to be a GICv3 distributor (GICD_PIDR2).
  /// - Throws: `HarnessError` when the field is not a mapping of a GICv3 distributor.
  package func gicDistributor(deadline: Deadline) async throws -> UInt64 {
    let base = try await rsp.readInteger(try tee.address("gic_data") + 8, size: 8, deadline: deadline)
    guard base != 0, base & 0xfff == 0 else {
      throw HarnessError("OP-TEE's gic_data.gicd_base reads as 0x\(String(base, radix: 16)): not a mapping of the GIC distributor")
    }
    let pidr2 = try await rsp.readInteger(base + Self.gicdPIDR2Offset, size: 4, deadline: deadline)
    guard (pidr2 >> 4) & 0xf >= 3 else {
      throw HarnessError("GICD_PIDR2 through OP-TEE's mapping reads 0x\(String(pidr2, radix: 16)): not a GICv3 distributor")
    }
    return base
  }

  /// The register of a one-bit-per-interrupt bank at `offset` that holds `intid`, and its bit.
  static func bit(of intid: Int, bank offset: UInt64, distributor: UInt64) -> (register: UInt64, mask: UInt64) {
    (distributor + offset + UInt64(intid / 32 * 4), 1 << UInt64(intid % 32))
  }

  /// Whether interrupt `intid` (an SPI) is pending, active and enabled now.
  package func spiState(_ intid: Int, distributor: UInt64, deadline: Deadline) async throws -> SPIState {
    func isSet(_ bank: UInt64) async throws -> Bool {
      let (register, mask) = Self.bit(of: intid, bank: bank, distributor: distributor)
      return try await rsp.readInteger(register, size: 4, deadline: deadline) & mask != 0
    }
    return SPIState(pending: try await isSet(Self.gicdISPENDROffset), active: try await isSet(Self.gicdISACTIVEROffset),
      enabled: try await isSet(Self.gicdISENABLEROffset))
  }

  /// Makes interrupt `intid` (an SPI) pending, as its device's line would (GICD_ISPENDR: a one sets, a zero
  /// leaves alone); returns whether the distributor then shows it pending. The stub's own memory writes never
  /// reach a device (QEMU writes only RAM and ROM for a debugger), so the CPU writes it (`store32`).
  package func setPending(spi intid: Int, distributor: UInt64, inEL3: Bool = false, deadline: Deadline) async throws -> Bool {
    let (register, mask) = Self.bit(of: intid, bank: Self.gicdISPENDROffset, distributor: distributor)
    try await store32(UInt32(mask), at: register, inEL3: inEL3, deadline: deadline)
    return try await rsp.readInteger(register, size: 4, deadline: deadline) & mask != 0
  }

  /// `STR Wt, [Xn, #imm]` (unsigned offset) without its fields.
  static let strW: UInt32 = 0xB900_0000

  /// Has the selected CPU, stopped in the secure world, store `value` at `address` (a device register through
  /// OP-TEE's mapping): it executes once one 32-bit store of OP-TEE's own code (in `io_write32`, or in the GIC
  /// driver that calls it), with its registers set to make it this store, then goes back to where it was.
  /// With `inEL3`, the CPU is stopped in EL3 and borrows a store of TF-A's GIC driver (bl31.elf) instead, to a
  /// physical address (EL3 maps the GIC flat).
  /// - Throws: `HarnessError` when no such instruction is found, or the step does not end after it.
  package func store32(_ value: UInt32, at address: UInt64, inEL3: Bool = false, deadline: Deadline) async throws {
    var found: (at: UInt64, base: Int, source: Int, offset: UInt64)?
    let (image, places) = inEL3
      ? (firmware, ["gicv3_rdistif_init", "gicv3_distif_init", "gicv3_cpuif_enable"])
      : (Optional(tee), ["io_write32", "gic_it_set_pending", "gic_op_raise_pi"])
    for place in places.compactMap({ image?.byName[$0]?.address }) where found == nil {
      let code = try await rsp.readMemory(place, count: inEL3 ? 256 : 128, deadline: deadline)
      for i in stride(from: 0, to: code.count - 3, by: 4) {
        let word = UInt32(code[i]) | UInt32(code[i + 1]) << 8 | UInt32(code[i + 2]) << 16 | UInt32(code[i + 3]) << 24
        let (base, source) = (Int(word >> 5 & 0x1f), Int(word & 0x1f))
        // A store through a general register (not SP), of another general register (not WZR).
        if word & 0xFFC0_0000 == Self.strW, base != 31, source != 31, base != source {
          found = (place + UInt64(i), base, source, UInt64(word >> 10 & 0xfff) * 4)
          break
        }
      }
    }
    guard let store = found, address >= store.offset else {
      throw HarnessError("no 32-bit store (STR Wt, [Xn]) in \(places.joined(separator: ", ")) (\(image?.file ?? "no bl31.elf")) to write a device register with")
    }
    let after = try await executeOnce(store.at, with: ["x\(store.base)": address - store.offset, "x\(store.source)": UInt64(value)], deadline: deadline).after
    guard after == store.at + 4 else {
      throw HarnessError("storing to 0x\(String(address, radix: 16)) through OP-TEE's own instruction: the step ended at 0x\(String(after, radix: 16))")
    }
  }
}

extension SecureWorldProbe {
  /// `intid`'s state in the GIC distributor, read at OP-TEE's next interrupt (outside any watch).
  package func spiStateAtNextInterrupt(_ intid: Int, deadline: Deadline) async throws -> SPIState {
    try await whenStopped(deadline: deadline) { _ in
      try await spiState(intid, distributor: try await gicDistributor(deadline: deadline), deadline: deadline)
    }
  }
}

/// An interrupt's group in a GICv3 with two security states (GICD_IGROUPR and GICD_IGRPMODR).
package enum InterruptGroup: String, Sendable {
  case group0 = "Group 0", secureGroup1 = "Secure Group 1", nonSecureGroup1 = "Non-secure Group 1"
  /// From the interrupt's GICD_IGROUPR and GICD_IGRPMODR bits.
  package init(group: Bool, modifier: Bool) { self = group ? .nonSecureGroup1 : (modifier ? .secureGroup1 : .group0) }
}

extension SecureWorldProbe {
  static let gicdIGROUPROffset: UInt64 = 0x80, gicdIGRPMODROffset: UInt64 = 0xD00, gicdIROUTEROffset: UInt64 = 0x6000

  /// The group SPI `intid` belongs to, read through the selected CPU (stopped in the secure world: a secure read
  /// sees every group).
  package func group(of intid: Int, distributor: UInt64, deadline: Deadline) async throws -> InterruptGroup {
    func isSet(_ bank: UInt64) async throws -> Bool {
      let (register, mask) = Self.bit(of: intid, bank: bank, distributor: distributor)
      return try await rsp.readInteger(register, size: 4, deadline: deadline) & mask != 0
    }
    return InterruptGroup(group: try await isSet(Self.gicdIGROUPROffset), modifier: try await isSet(Self.gicdIGRPMODROffset))
  }

  /// Routes SPI `intid` to CPU `cpu` (GICD_IROUTER's affinity 0: the CPU's index on QEMU's virt machine) and makes
  /// it pending, both stored by the selected CPU (stopped in the secure world); returns whether it reads back pending.
  package func raise(spi intid: Int, on cpu: Int, distributor: UInt64, inEL3: Bool = false, deadline: Deadline) async throws -> Bool {
    try await store32(UInt32(cpu), at: distributor + Self.gicdIROUTEROffset + UInt64(8 * intid), inEL3: inEL3, deadline: deadline)
    return try await setPending(spi: intid, distributor: distributor, inEL3: inEL3, deadline: deadline)
  }

  /// The GIC distributor's physical address on QEMU's virt machine, as EL3 maps it.
  package static let gicdPhysical: UInt64 = 0x0800_0000

  /// Where every CPU is, read while the machine is stopped (in a stop's body); the CPU selected before stays
  /// selected (memory reads go through its translation).
  package func cpuStates(deadline: Deadline) async throws -> [CPUStop] {
    let selected = await rsp.current
    var cpus: [CPUStop] = []
    for thread in try await rsp.threads(deadline: deadline) { cpus.append(try await rsp.cpuState(thread: thread, deadline: deadline)) }
    if let selected { try await rsp.selectThread(selected, deadline: deadline) }
    return cpus
  }

  /// Where every CPU is now, read with the machine stopped for a moment: "CPU 0 at EL1 secure, in el1_fiq_sp1"
  /// (OP-TEE's symbols in the secure EL1 and EL0, TF-A's in EL3; the normal world by its pc alone).
  package func whereCPUsAre(deadline: Deadline) async throws -> [String] {
    try await rsp.halted(deadline: deadline) { _ in
      try await cpuStates(deadline: deadline).map { cpu in
        let symbols = !cpu.secure ? nil : cpu.exceptionLevel == 3 ? firmware : tee
        let deadEnd = symbols?.deadEnds[cpu.pc] != nil ? " (a branch to itself: the CPU never leaves it)" : ""
        return "\(cpu.description)\(symbols?.locate(cpu.pc).map { ", in \($0)" } ?? "")\(deadEnd)"
      }
    }
  }

  /// OP-TEE's thread table, read at once through a CPU the stop finds in OP-TEE's kernel (secure EL1, within its
  /// symbols); nil when no CPU is there. For a machine whose CPUs may never enter OP-TEE again (a lockup).
  package func threadTableNow(deadline: Deadline) async throws -> [OpteeThread]? {
    try await rsp.halted(deadline: deadline) { halt in
      let cpus = try await cpuStates(deadline: deadline)
      guard let cpu = cpus.first(where: { $0.secure && $0.exceptionLevel == 1 && tee.locate($0.pc) != nil }) else { return nil }
      try await halt.select(cpu.thread, deadline: deadline)
      return try await readThreadTable(deadline: deadline)
    }
  }
}
