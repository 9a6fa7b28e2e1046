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
    /// Makes CPU 0, stopped in Linux at EL1, execute `HLT #0xF000` with SYS_OPEN of `path` for writing; returns
    /// whether the host file appeared. The machine is not usable afterwards.
    static func openThroughSemihosting(_ path: String, qemu: URL? = nil) async throws -> Bool {
      var configuration = try await SharedStack.shared.configuration("semihosting")
      if let qemu { configuration.images.qemu = qemu }
      return try await withMachine(configuration) { machine in
        try await machine.awaitReady(deadline: .after(.seconds(120)))
        let gdb = try #require(machine.gdb, "no GDB stub")
        for _ in 0..<20 {
          let opened = try await gdb.halted(deadline: .after(.seconds(10))) { halt -> Bool? in
            let cpu = try await halt.cpuState(thread: "1", deadline: .after(.seconds(5)))
            guard cpu.exceptionLevel == 1, !cpu.secure else { return nil }  // not in Linux's kernel: look again
            let rsp = gdb
            try await rsp.request("Hc1")
            let sp = try await rsp.readRegister("sp")
            let name = sp - 0x400, block = sp - 0x200
            try await rsp.writeMemory(name, Array(path.utf8) + [0])
            let le = { (v: UInt64) in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
            try await rsp.writeMemory(block, le(name) + le(4) + le(UInt64(path.utf8.count)))  // "w"
            try await rsp.writeMemory(cpu.pc, [0x00, 0x00, 0x5E, 0xD4])  // HLT #0xF000: the semihosting call
            try await rsp.writeRegister("x0", 0x01)  // SYS_OPEN
            try await rsp.writeRegister("x1", block)
            _ = try await rsp.step(deadline: .after(.seconds(10)))
            return FileManager.default.fileExists(atPath: path)
          }
          if let opened { return opened }
        }
        Issue.record("CPU 0 was never found in Linux at EL1")
        return false
      }
    }

    @Test func aGuestSemihostingCallCannotTouchTheHost() async throws {
      let path = "/tmp/teeharness-semihosting-\(UUID().uuidString.prefix(8))"
      defer { try? FileManager.default.removeItem(atPath: path) }
      #expect(try await Self.openThroughSemihosting(path) == false, "the guest created \(path) on the host")
    }

    @Test func theControlWithSemihostingOnDoesCreateTheFile() async throws {
      let path = "/tmp/teeharness-semihosting-\(UUID().uuidString.prefix(8))"
      let wrapper = FileManager.default.temporaryDirectory.appendingPathComponent("qemu-semihosting-\(UUID().uuidString.prefix(8))")
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
