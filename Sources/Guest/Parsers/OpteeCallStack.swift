import Foundation

/// The call stack OP-TEE prints after a panic, an assertion or an abort — a "Call stack:" line, then a line per
/// frame ("E/TC:0 0  0x0e10ab8c") — read from the secure console's lines. Pure: lines in, addresses out.
package enum OpteeCallStack {
  /// The frames of the first call stack printed at or after the line `from` (from the start of `lines` when no
  /// line is `from`); empty when there is none.
  package static func frames(in lines: [String], after from: String) -> [UInt64] {
    let start = lines.firstIndex(of: from) ?? lines.startIndex
    guard let header = lines[start...].firstIndex(where: { $0.hasSuffix("Call stack:") }) else { return [] }
    var frames: [UInt64] = []
    for line in lines[(header + 1)...] {
      guard let address = frame(line) else { break }
      frames.append(address)
    }
    return frames
  }

  /// The address a frame line ends with (` 0x0e10ab8c`), or nil for any other line.
  package static func frame(_ line: String) -> UInt64? {
    guard let word = line.split(separator: " ").last, word.hasPrefix("0x"), word.count > 2, word.count <= 18 else { return nil }
    return UInt64(word.dropFirst(2), radix: 16)
  }

  /// The frames by function, innermost first ("_assert_break ← cpu_spin_lock_dldetect ← …"); `locate` names an
  /// address (nil: shown as it is). A frame past the first is a return address: its call is the instruction before.
  package static func described(_ frames: [UInt64], locate: (UInt64) -> String?) -> String {
    frames.enumerated().map { k, address in
      let at = k == 0 || address < 4 ? address : address - 4
      guard let name = locate(at) else { return "0x\(String(address, radix: 16))" }
      return String(name.split(separator: "+").first ?? Substring(name))
    }.joined(separator: " ← ")
  }
}
