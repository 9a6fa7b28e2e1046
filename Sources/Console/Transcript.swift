import Foundation

/// A console's output as timestamped lines, kept in memory for per-test slices and written to a file as it
/// arrives (`[  12.345] line`, seconds since the machine was launched).
package struct Transcript: Sendable {
  package struct Line: Sendable, Equatable {
    package var time: Double
    package var text: String
    package init(time: Double, text: String) {
      self.time = time
      self.text = text
    }
  }

  package private(set) var lines: [Line] = []
  private var partial = ""
  private var partialTime: Double?
  private let file: FileHandle?

  /// Lines beyond this many are dropped from memory (the file keeps everything).
  package var memoryLimit = 200_000

  package init(file: URL?) {
    if let file {
      _ = FileManager.default.createFile(atPath: file.path, contents: nil)
      self.file = try? FileHandle(forWritingTo: file)
    } else {
      self.file = nil
    }
  }

  /// Adds decoded console text received at `time`.
  package mutating func add(_ text: String, at time: Double) {
    var out = ""
    for character in text {
      if partialTime == nil { partialTime = time }
      if character == "\n" {
        let line = Line(time: partialTime ?? time, text: partial)
        lines.append(line)
        out += Self.format(line) + "\n"
        partial = ""
        partialTime = nil
      } else {
        partial.append(character)
      }
    }
    if lines.count > memoryLimit { lines.removeFirst(lines.count - memoryLimit / 2) }
    if !out.isEmpty { try? file?.write(contentsOf: Data(out.utf8)) }
  }

  /// Adds lines the harness typed (each of `text`'s lines at `time`), beside any line still arriving.
  package mutating func addTyped(_ text: String, at time: Double) {
    let typed = text.split(separator: "\n", omittingEmptySubsequences: false).map { Line(time: time, text: String($0)) }
    lines += typed
    try? file?.write(contentsOf: Data(typed.map { Self.format($0) + "\n" }.joined().utf8))
  }

  /// Writes the unfinished last line too (at shutdown).
  package mutating func flush() {
    if !partial.isEmpty, let t = partialTime {
      let line = Line(time: t, text: partial)
      lines.append(line)
      try? file?.write(contentsOf: Data((Self.format(line) + "\n").utf8))
      partial = ""
      partialTime = nil
    }
    try? file?.synchronize()
  }

  /// The complete lines received at or after `time` (and the unfinished one).
  package func slice(from time: Double, to end: Double = .infinity) -> [Line] {
    var result = lines.filter { $0.time >= time && $0.time <= end }
    if !partial.isEmpty, let t = partialTime, t >= time { result.append(Line(time: t, text: partial)) }
    return result
  }

  /// The last `n` lines, formatted.
  package func tail(_ n: Int) -> String {
    var all = lines.suffix(n).map(Self.format)
    if !partial.isEmpty, let t = partialTime { all.append(Self.format(Line(time: t, text: partial))) }
    return all.suffix(n).joined(separator: "\n")
  }

  package static func format(_ line: Line) -> String {
    String(format: "[%8.3f] ", line.time) + line.text
  }
}
