import Foundation
import Testing

@testable import Images
@testable import Machine

/// The QEMU command line, read without QEMU: what the machine is, and that every channel is the harness's.
@Suite struct MachineConfigurationTests {
  static func configuration() -> MachineConfiguration {
    let dir = URL(fileURLWithPath: "/cache/store")
    func file(_ name: String) -> URL { dir.appendingPathComponent(name) }
    let images = StackImages(manifest: "default", digest: "d", keys: [:], bl1: file("bl1.bin"), bl2: file("bl2.bin"),
      bl31: file("bl31.bin"), bl32: file("tee-header_v2.bin"), bl32Extra1: file("tee-pager_v2.bin"),
      bl32Extra2: file("tee-pageable_v2.bin"), bl33: file("u-boot.bin"), kernel: file("Image"), initramfs: file("rootfs.cpio"),
      teeElf: nil, bl31Elf: nil, bl1Elf: nil, bl2Elf: nil, opteeConfig: nil, opteeLayout: nil, taDevKit: nil,
      kernelConfig: nil, kernelRelease: "6.12", qemu: URL(fileURLWithPath: "/usr/bin/qemu-system-aarch64"))
    return MachineConfiguration(images: images, spec: MachineSpec(), runDirectory: URL(fileURLWithPath: "/run/machine-1"),
      socketDirectory: URL(fileURLWithPath: "/tmp/th-1"))
  }

  /// The value after each occurrence of `flag`.
  static func values(_ argv: [String], _ flag: String) -> [String] {
    zip(argv, argv.dropFirst()).filter { $0.0 == flag }.map(\.1)
  }

  @Test func theMachineIsSecureVirtWithGICv3PausedAtResetWithNoNetwork() {
    let argv = Self.configuration().argv
    #expect(argv.first == "/usr/bin/qemu-system-aarch64" && argv.contains("-S"))
    #expect(Self.values(argv, "-machine") == ["virt,secure=on,gic-version=3,virtualization=false"])
    #expect(Self.values(argv, "-bios") == ["/tmp/th-1/flash.bin"] && Self.values(argv, "-kernel") == ["/cache/store/Image"])
    #expect(!argv.contains { $0.contains("semihosting") }, "BL1 loads the firmware from the flash: the guest gets no semihosting door to the host")
    #expect(Self.values(argv, "-smp") == ["2"] && Self.values(argv, "-m") == ["1057"] && Self.values(argv, "-cpu") == ["max"])
    #expect(Self.values(argv, "-nic") == ["none"] && Self.values(argv, "-display") == ["none"] && Self.values(argv, "-monitor") == ["none"])
    #expect(!argv.contains("-nographic") && !argv.contains { $0.contains("stdio") }, "nothing on the harness's own terminal")
    #expect(Self.values(argv, "-name") == ["teeharness,debug-threads=on"], "threads named by the CPU they run: the host's share is read per CPU")
  }

  @Test func everyChannelIsAUnixSocketTheHarnessListensOn() {
    var configuration = Self.configuration()
    let chardevs = Self.values(configuration.argv, "-chardev")
    #expect(chardevs.map { $0.split(separator: ",").first.map(String.init) } == ["socket", "socket", "socket", "socket"])
    #expect(chardevs.allSatisfy { $0.contains("path=/tmp/th-1/") && $0.hasSuffix("server=off") })
    #expect(Self.values(configuration.argv, "-serial") == ["chardev:normal", "chardev:secure"], "UART0 is Linux's, UART1 OP-TEE's")
    #expect(Self.values(configuration.argv, "-mon") == ["chardev=qmp,mode=control"])
    configuration.gdbStub = .server
    #expect(Self.values(configuration.argv, "-chardev").last == "socket,id=gdb,path=/tmp/th-1/gdb.sock,server=on,wait=off")
    configuration.gdbStub = .none
    #expect(!configuration.argv.contains("-gdb"))
  }

  @Test func aSavedMachineComesInThroughAQuotedPath() {
    var configuration = Self.configuration()
    #expect(!configuration.argv.contains("-incoming"))
    configuration.incoming = URL(fileURLWithPath: "/cache/snap shots/it's.state")
    #expect(Self.values(configuration.argv, "-incoming") == ["exec:cat '/cache/snap shots/it'\\''s.state'"])
  }
}
