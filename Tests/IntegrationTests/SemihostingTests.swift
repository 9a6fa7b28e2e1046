import Foundation
import GDBRemote
import HarnessSupport
import Machine
import Testing

extension Integration {
  /// Code at EL1 in the guest (a kernel under test, a broken OP-TEE) calls semihosting to open a file on the
  /// host: with the harness's QEMU it cannot. A control run, on a QEMU started with semihosting on as the
  /// harness once did, shows the same call does create the file.
  @Suite struct SemihostingTests {
    /// Makes a CPU that has just taken an interrupt into Linux's vector table (EL1, normal world) execute
    /// `HLT #0xF000` with SYS_OPEN of `path` for writing; returns whether the host file appeared. The machine is
    /// not usable afterwards.
    static func openThroughSemihosting(_ path: String, qemu: URL? = nil) async throws -> Bool {
      var configuration = try await SharedStack.shared.configuration("semihosting")
      if let qemu { configuration.images.qemu = qemu }
      return try await withMachine(configuration) { machine in
        try await machine.awaitReady(deadline: .after(.seconds(120)))
        let gdb = try #require(machine.gdb, "no GDB stub")
        // Linux's VBAR_EL1, read while CPU 0 is in the normal world (it leaves it only for short secure calls).
        var linuxVectors: UInt64?
        for _ in 0..<50 where linuxVectors == nil {
          linuxVectors = try await gdb.halted(deadline: .after(.seconds(10))) { halt -> UInt64? in
            guard try await !halt.cpuState(thread: "1", deadline: .after(.seconds(5))).secure else { return nil }
            return try await gdb.readRegister("VBAR", deadline: .after(.seconds(5)))
          }
        }
        let vectors = try #require(linuxVectors, "CPU 0 was never found in the normal world")
        // The IRQ entries from EL1 (+0x280) and from EL0 (+0x480): a byte typed at the normal console raises one.
        let entries = [vectors + 0x280, vectors + 0x480]
        return try await gdb.breaking(at: entries, deadline: .after(.seconds(30))) { halt -> Bool in
          try await machine.normal.send("\n")
          let stop = try await halt.nextStop(deadline: .after(.seconds(20)))
          for entry in entries { try await halt.disarm(entry, deadline: .after(.seconds(5))) }
          let cpu = try await halt.cpuState(thread: stop.thread, deadline: .after(.seconds(5)))
          try #require(cpu.exceptionLevel == 1 && !cpu.secure, "stopped at Linux's IRQ vector but \(cpu.description)")
          let sp = try await gdb.readRegister("sp")
          let name = sp - 0x400, block = sp - 0x200
          try await gdb.writeMemory(name, Array(path.utf8) + [0])
          let le = { (v: UInt64) in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
          try await gdb.writeMemory(block, le(name) + le(4) + le(UInt64(path.utf8.count)))  // "w"
          try await gdb.writeMemory(cpu.pc, [0x00, 0x00, 0x5E, 0xD4])  // HLT #0xF000: the semihosting call
          try await gdb.writeRegister("x0", 0x01)  // SYS_OPEN
          try await gdb.writeRegister("x1", block)
          _ = try await gdb.step(deadline: .after(.seconds(10)))
          return FileManager.default.fileExists(atPath: path)
        }
      }
    }

    @Test func aGuestSemihostingCallCannotTouchTheHost() async throws {
      let path = "/tmp/teeharness-semihosting-\(UUID().uuidString.prefix(8))"
      defer { try? FileManager.default.removeItem(atPath: path) }
      #expect(try await Self.openThroughSemihosting(path) == false, "the guest created \(path) on the host")
    }

    @Test func theControlWithSemihostingOnDoesCreateTheFile() async throws {
      let path = "/tmp/teeharness-semihosting-\(UUID().uuidString.prefix(8))"
      let wrapper = ScratchFolder.path("qemu-semihosting-\(UUID().uuidString.prefix(8))")
      defer {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(at: wrapper)
      }
      let qemu = try await SharedStack.shared.get().0.qemu
      try Data("#!/bin/sh\nexec \(qemu.path) -semihosting-config enable=on,target=native \"$@\"\n".utf8).write(to: wrapper)
      chmod(wrapper.path, 0o755)
      #expect(try await Self.openThroughSemihosting(path, qemu: wrapper) == true, "the control did not reach the host: the test proves nothing")
    }
  }
}
