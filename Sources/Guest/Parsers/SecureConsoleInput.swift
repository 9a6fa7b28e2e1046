import Console
import Foundation

/// What OP-TEE's console driver says about the bytes it read from the secure UART
/// (`D/TC:? 0 read_console:119 got 0x78`), and whether a sequence of typed bytes all arrived, in order, once.
package struct SecureConsoleInput: Sendable, Equatable {
  /// One byte OP-TEE read, with the time its line reached the host.
  package struct Read: Sendable, Equatable {
    package var byte: UInt8
    package var time: Double
    /// The thread field of the log prefix: `?` outside a thread (interrupt context), else the thread's number.
    package var thread: String
  }

  package var reads: [Read]

  /// The line OP-TEE's console driver prints when it read `byte`.
  package static func read(of byte: UInt8) -> Pattern { .regex("read_console:\\d+ got 0x\(String(byte, radix: 16))\\b") }

  package init(lines: [Transcript.Line]) {
    reads = lines.compactMap { line in
      guard let got = line.text.range(of: #"read_console:\d+ got 0x[0-9a-fA-F]+"#, options: .regularExpression) else { return nil }
      let hex = line.text[got].split(separator: "x").last.map(String.init) ?? ""
      guard let byte = UInt8(hex, radix: 16) else { return nil }
      let thread = line.text.range(of: #"/TC:(\S+)"#, options: .regularExpression)
        .map { String(line.text[$0].dropFirst(4)) } ?? "?"
      return Read(byte: byte, time: line.time, thread: thread)
    }
  }

  /// What went wrong with `sent` (typed in this order) as read: bytes not read in these lines (they end where the
  /// caller stopped waiting; a byte read after that is not "never read"), bytes read twice, bytes read
  /// out of order. Bytes that were not typed (another writer's) are ignored. Empty when every byte came once,
  /// in order.
  package func problems(typed sent: [UInt8]) -> [String] {
    let wanted = Set(sent)
    let seen = reads.map(\.byte).filter { wanted.contains($0) }
    var problems: [String] = []
    let missing = sent.filter { !seen.contains($0) }
    if !missing.isEmpty { problems.append("not read while the test waited: \(Self.describe(missing))") }
    let twice = Set(seen.filter { b in seen.count { $0 == b } > sent.count { $0 == b } })
    if !twice.isEmpty { problems.append("read more than once: \(Self.describe(twice.sorted()))") }
    if missing.isEmpty && twice.isEmpty && seen != sent {
      problems.append("out of order: typed \(Self.describe(sent)), read \(Self.describe(seen))")
    }
    return problems
  }

  /// The time the first read of `byte` at or after `time` reached the host.
  package func firstRead(of byte: UInt8, after time: Double) -> Read? { reads.first { $0.byte == byte && $0.time >= time } }

  static func describe(_ bytes: [UInt8]) -> String { bytes.map { String(format: "0x%02x", $0) }.joined(separator: " ") }
}
