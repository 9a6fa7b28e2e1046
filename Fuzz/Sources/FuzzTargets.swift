import Console
import Foundation
import GDBRemote
import Guest
import Images
import Machine
import QMP
import Repro

/// What each fuzz target does with one input. Each is named after what it reads: bytes from a socket (rsp, qmp,
/// console), a file (elf, cpio, manifest, lock, repro, saved-consoles) or the guest's output (guest).
enum FuzzTargets {
  nonisolated(unsafe) static var selected: (([UInt8]) -> Void)?

  nonisolated(unsafe) static let all: [String: ([UInt8]) -> Void] = [
    "rsp": rsp, "qmp": qmp, "console": console, "elf": elf, "cpio": cpio, "guest": guest,
    "manifest": manifest, "lock": lock, "repro": repro, "saved-consoles": savedConsoles,
  ]

  /// The GDB stub's byte stream, cut into reads of varying size; every packet parsed as a stop reply too. And
  /// the framer's own round trip: any payload encoded and read back is the same payload.
  static func rsp(_ input: [UInt8]) {
    var framer = RSPFramer()
    for chunk in chunks(input) {
      for event in framer.feed(chunk) {
        if case .packet(let payload) = event { _ = StopReply(payload) }
      }
    }
    var roundTrip = RSPFramer()
    let events = roundTrip.feed(RSPFramer.encode(input))
    guard events == [.packet(input)] else { fatalError("RSP round trip of \(input) gave \(events)") }
  }

  /// QMP's JSON lines, cut into reads of varying size.
  static func qmp(_ input: [UInt8]) {
    var framer = QMPFramer()
    for chunk in chunks(input) {
      guard (try? framer.feed(chunk)) != nil else { return }
    }
  }

  /// A console's bytes into the expect buffer, with waits for the patterns the suites use consumed between reads.
  static func console(_ input: [UInt8]) {
    var buffer = ExpectBuffer()
    let patterns: [Pattern] = [
      "# ", .regex("read_console:\\d+ got 0x([0-9a-f]+)\\b"), .regex("^\\[ *([0-9.]+)\\] (.*)$"), "optee: initialized driver",
    ]
    for (i, chunk) in chunks(input).enumerated() {
      _ = buffer.append(chunk)
      _ = buffer.consume(patterns[i % patterns.count])
    }
    buffer.discard()
  }

  static func elf(_ input: [UInt8]) {
    guard let symbols = try? ELFSymbols(data: input, file: "fuzz.elf") else { return }
    _ = symbols.byName.count
  }

  static func cpio(_ input: [UInt8]) { _ = try? CpioListing(input) }

  /// Every parser of what the guest prints, on the same text (the first line doubles as /proc/interrupts' header).
  static func guest(_ input: [UInt8]) {
    let text = String(decoding: input, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    _ = XTestReport(parsing: text)
    _ = XTest.unfinished(parsing: text)
    if let header = lines.first {
      for line in lines.dropFirst() {
        guard let parsed = InterruptLine(header: header, line: line) else { continue }
        _ = (parsed.total, parsed.hardwareNumber)
      }
    }
    let timeline = CallTimeline(parsing: text)
    _ = timeline.calls.map(\.secureInterval)
    // kallsyms as the harness turns it into a symbol file for GDB, read back: every symbol is found again.
    let symbols = SymbolFile.kallsyms(text)
    if let file = try? ELFSymbols(data: SymbolFile.elf(symbols), file: "kallsyms.elf") {
      for symbol in symbols where !symbol.name.contains("\0") && file.byName[symbol.name] == nil { fatalError("kallsyms symbol \(symbol.name) lost in its ELF file") }
    } else if !symbols.isEmpty {
      fatalError("the ELF file made of \(symbols.count) kallsyms symbols does not read back")
    }
    _ = try? OpteeLayout(parsing: text)
    _ = BlockedTask.parse(lines).map(\.description)
    _ = OCallOutcome(parsing: text)
    _ = TeeResources.instances(parsing: text)
    _ = TeeResources.allocations(parsing: text)
    _ = OpteeConfig(parsing: text)
    for line in lines {
      _ = WatchdogLine(parsing: line)
      _ = NotificationInterrupt(deviceTreeCells: line)
    }
  }

  /// A manifest file as a user writes it (no `extends` is followed outside the scratch folder).
  static func manifest(_ input: [UInt8]) {
    withScratchFile("stack.yaml", input) { _ = try? ManifestLoader.load($0) }
  }

  static func lock(_ input: [UInt8]) {
    withScratchFile("default.lock", input) { url in
      guard let lock = try? LockFile.load(url) else { return }
      _ = lock.entries.count
    }
  }

  static func repro(_ input: [UInt8]) {
    _ = try? ReproScript.parse(String(decoding: input, as: UTF8.self), file: "fuzz.repro")
  }

  static func savedConsoles(_ input: [UInt8]) {
    withScratchFile("state.consoles.json", input) { _ = try? SavedConsoles(contentsOf: $0) }
  }

  /// The input cut into reads: the first byte sets the read size (1…32 bytes), as a socket would deliver them.
  static func chunks(_ input: [UInt8]) -> [[UInt8]] {
    guard let first = input.first else { return [] }
    let size = Int(first % 32) + 1
    let rest = Array(input.dropFirst())
    return stride(from: 0, to: rest.count, by: size).map { Array(rest[$0..<min($0 + size, rest.count)]) }
  }

  nonisolated(unsafe) static let scratch: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("teeharness-fuzz-\(getpid())", isDirectory: true)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: FuzzTargets.scratch) }
    return url
  }()

  static func withScratchFile(_ name: String, _ input: [UInt8], _ body: (URL) -> Void) {
    let url = scratch.appendingPathComponent(name)
    guard FileManager.default.createFile(atPath: url.path, contents: Data(input)) else { return }
    body(url)
  }
}
