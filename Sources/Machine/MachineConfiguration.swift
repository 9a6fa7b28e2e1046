import Foundation
import Images

/// Everything that decides how QEMU is started. `argv` is pure, so the command line is testable without QEMU.
package struct MachineConfiguration: Sendable {
  package var images: StackImages
  package var spec: MachineSpec
  /// Where transcripts and QEMU's own output go (any length).
  package var runDirectory: URL
  /// A short private folder (mode 0700): the unix sockets and the secure flash image. QEMU runs
  /// with it as its current directory.
  package var socketDirectory: URL
  /// Who talks to QEMU's GDB stub.
  package var gdbStub: GDBStub = .harness
  /// A saved machine to start from instead of booting (`-incoming`): it comes up where it was saved.
  package var incoming: URL?

  /// Who owns QEMU's GDB stub.
  package enum GDBStub: String, Sendable, CaseIterable {
    /// The harness connects to it before the CPUs first run (probes, the thread invariant).
    case harness
    /// QEMU listens on `gdbSocket` for a person's debugger (`teeharness gdb`); the harness stays off it.
    case server
    /// No stub at all (to measure what the stub costs).
    case none
  }

  package init(images: StackImages, spec: MachineSpec, runDirectory: URL, socketDirectory: URL) {
    self.images = images
    self.spec = spec
    self.runDirectory = runDirectory
    self.socketDirectory = socketDirectory
  }

  package var normalSocket: String { socketDirectory.appendingPathComponent("normal.sock").path }
  package var secureSocket: String { socketDirectory.appendingPathComponent("secure.sock").path }
  package var qmpSocket: String { socketDirectory.appendingPathComponent("qmp.sock").path }
  package var gdbSocket: String { socketDirectory.appendingPathComponent("gdb.sock").path }
  /// The secure flash the machine boots from (BL1 and a FIP of the other firmware; written at launch).
  package var flashImage: String { socketDirectory.appendingPathComponent("flash.bin").path }

  /// The QEMU command line: paused at reset (`-S`), every channel a unix-socket client of the harness,
  /// nothing on stdio, no network.
  package var argv: [String] {
    [
      images.qemu.path,
      "-S",
      // Threads named by what they run ("CPU 0/TCG"): the host's share of each is measured per test.
      "-name", "teeharness,debug-threads=on",
      "-machine", "virt,secure=on,gic-version=3,virtualization=false",
      "-cpu", spec.cpu,
      "-smp", String(spec.smp),
      "-m", String(spec.memoryMiB),
      "-bios", flashImage,
      "-kernel", images.kernel.path,
      "-initrd", images.initramfs.path,
      "-append", spec.append,
      "-display", "none",
      "-monitor", "none",
      "-chardev", "socket,id=normal,path=\(normalSocket),server=off",
      "-chardev", "socket,id=secure,path=\(secureSocket),server=off",
      "-serial", "chardev:normal",
      "-serial", "chardev:secure",
      "-chardev", "socket,id=qmp,path=\(qmpSocket),server=off",
      "-mon", "chardev=qmp,mode=control",
    ] + gdbArguments + [
      "-nic", "none",
      "-d", "unimp",
      "-D", runDirectory.appendingPathComponent("qemu-debug.log").path,
    ] + (incoming.map { ["-incoming", "exec:cat \(shellQuoted($0.path))"] } ?? [])
  }

  /// What must match for a saved machine to be restored by this configuration: the images, the machine and
  /// the stub, and the shell the console was left with (paths of sockets and run folders may differ).
  package var snapshotIdentity: String {
    [images.digest, images.qemu.path, spec.cpu, String(spec.smp), String(spec.memoryMiB), spec.append, gdbStub.rawValue,
      "firmware from flash", "quiet shell"]
      .joined(separator: "\n")
  }

  var gdbArguments: [String] {
    switch gdbStub {
    case .harness: ["-chardev", "socket,id=gdb,path=\(gdbSocket),server=off", "-gdb", "chardev:gdb"]
    case .server: ["-chardev", "socket,id=gdb,path=\(gdbSocket),server=on,wait=off", "-gdb", "chardev:gdb"]
    case .none: []
    }
  }
}

/// `text` in single quotes for /bin/sh (QEMU runs `exec:` migration commands through it).
func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
