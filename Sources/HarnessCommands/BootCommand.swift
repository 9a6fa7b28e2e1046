import ArgumentParser
import Foundation
import HarnessSupport
import Images
import Machine

struct BootCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "boot",
    abstract: "Boot the stack and attach this terminal to the normal-world console (Ctrl-] detaches).",
    discussion: "The secure-world console goes to the run folder's secure.log, or also to this terminal with --secure.")

  @OptionGroup var stack: StackOptions

  @Flag(name: .long, help: "Also show the secure-world console here (prefixed `S|`).")
  var secure = false

  @Option(name: .long, help: "Run folder for transcripts (default: teeharness-out/<time>).")
  var out: String?

  @Flag(name: .long, help: "Start halted at the reset vector until a debugger (`teeharness gdb`) lets it run.")
  var gdbWait = false

  func run() async throws {
    try HostSetup.forStack(stack.manifest, overrides: stack.overrides.value).requireInstalled()
    let (images, manifest, _) = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: stack.cache) { Output.error("images: \($0)") }
    let runDirectory = try RunFolder.make(out)
    var made = try MachineConfiguration.make(images: images, spec: manifest.machine, runDirectory: runDirectory)
    made.gdbStub = .server
    let configuration = made
    Output.error("teeharness: booting \(manifest.name); Ctrl-] detaches; transcripts in \(runDirectory.path)")
    if gdbWait {
      Output.error("teeharness: halted at the reset vector; in another terminal run `swift run teeharness gdb --run \(runDirectory.path)` and `continue`")
    } else {
      Output.error("teeharness: debug it any time with `swift run teeharness gdb --run \(runDirectory.path)`")
    }
    let (showSecure, waiting, name) = (secure, gdbWait, manifest.name)
    let (_, signal) = try await Interruption.run {
      try await withMachine(configuration, start: !waiting) { machine in
        try DebugRecord(manifest: name, configuration: configuration, qemuPid: machine.pid).write(to: runDirectory)
        await Self.mirror(machine, secure: showSecure)
        let symbols = Task { await Self.captureKernelSymbols(machine, into: runDirectory, secure: showSecure, patient: waiting) }
        defer { symbols.cancel() }
        try await Keyboard.attach(to: machine)
      }
    }
    Output.error("\nteeharness: detached; the machine is shut down")
    if let signal { throw HarnessExitRequest(signal == SIGINT ? .interruptedByINT : .interruptedByTERM) }
  }
}

extension BootCommand {
  static func mirror(_ machine: Machine, secure: Bool) async {
    await machine.normal.setMirror { Output.raw([UInt8]($0)) }
    guard secure else { return }
    await machine.secure.setMirror { bytes in
      // Each secure line starts with `S| ` so the two worlds can be told apart.
      var out: [UInt8] = []
      for byte in bytes {
        out.append(byte)
        if byte == 0x0A { out += Array("S| ".utf8) }
      }
      Output.raw([UInt8](out))
    }
  }

  /// Once the shell is up, saves the kernel's symbols for `teeharness gdb` (the dump is kept off the screen).
  /// A machine held by a debugger may take as long as the person needs (up to a day).
  static func captureKernelSymbols(_ machine: Machine, into runDirectory: URL, secure: Bool, patient: Bool) async {
    do {
      _ = try await machine.normal.expect(.literal("teeharness-init: ready"), timeout: patient ? .seconds(86_400) : .seconds(180))
      await machine.normal.setMirror(nil)
      await machine.secure.setMirror(nil)
      let file = runDirectory.appendingPathComponent(DebugRecord.kernelSymbolsName)
      let count = try await KernelSymbols.capture(machine.shell, to: file)
      await mirror(machine, secure: secure)
      Output.error("\r\nteeharness: \(count) kernel symbols saved for `teeharness gdb`\r")
      try await machine.normal.send("\n")
    } catch {
      await mirror(machine, secure: secure)
      if !Task.isCancelled { Output.error("\r\nteeharness: no kernel symbols for gdb: \(error)\r") }
    }
  }
}

/// The person's keyboard, in raw mode, typed into the normal-world console until Ctrl-] or the machine ends.
enum Keyboard {
  static let detach: UInt8 = 0x1D

  static func attach(to machine: Machine) async throws {
    let restore = RawMode.enter()
    defer { restore() }
    let (keys, continuation) = AsyncStream<[UInt8]>.makeStream()
    let reader = Thread {
      var buffer = [UInt8](repeating: 0, count: 256)
      while true {
        let n = read(STDIN_FILENO, &buffer, buffer.count)
        if n <= 0 { break }
        continuation.yield(Array(buffer[0..<n]))
      }
      continuation.finish()
    }
    reader.start()
    let watch = Task {
      await machine.normal.waitClosed(deadline: .distantFuture)
      continuation.finish()
    }
    defer { watch.cancel() }
    for await chunk in keys {
      if let cut = chunk.firstIndex(of: detach) {
        try await machine.normal.send(bytes: Array(chunk[..<cut]))
        return
      }
      try await machine.normal.send(bytes: chunk)
    }
    // Standard input ended (a script, or `< /dev/null`): the machine runs on until it stops or the harness is
    // interrupted.
    await machine.normal.waitClosed(deadline: .distantFuture)
  }
}

/// Puts the terminal in raw mode (when it is one) and returns how to restore it.
enum RawMode {
  static func enter() -> () -> Void {
    guard isatty(STDIN_FILENO) == 1 else { return {} }
    var original = termios()
    tcgetattr(STDIN_FILENO, &original)
    var raw = original
    cfmakeraw(&raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    let saved = original
    return {
      var restore = saved
      tcsetattr(STDIN_FILENO, TCSANOW, &restore)
    }
  }
}
