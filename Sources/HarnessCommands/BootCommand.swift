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

  func run() async throws {
    try HostSetup().requireInstalled()
    let (images, manifest, _) = try await Stack.prepare(manifest: stack.manifest, cache: stack.cache) { Output.error("images: \($0)") }
    let runDirectory = try RunFolder.make(out)
    let configuration = try MachineConfiguration.make(images: images, spec: manifest.machine, runDirectory: runDirectory)
    Output.error("teeharness: booting \(manifest.name); Ctrl-] detaches; transcripts in \(runDirectory.path)")
    let showSecure = secure
    _ = try await Interruption.run {
      try await withMachine(configuration) { machine in
        await machine.normal.setMirror { FileHandle.standardOutput.write(Data($0)) }
        if showSecure {
          await machine.secure.setMirror { bytes in
            // Each secure line starts with `S| ` so the two worlds can be told apart.
            var out: [UInt8] = []
            for byte in bytes {
              out.append(byte)
              if byte == 0x0A { out += Array("S| ".utf8) }
            }
            FileHandle.standardOutput.write(Data(out))
          }
        }
        try await Keyboard.attach(to: machine)
      }
    }
    Output.error("\nteeharness: detached; the machine is shut down")
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
