/// The unconsumed output of a console, and the matching that consumes it. Pure: bytes in, matches out.
///
/// Bytes are decoded as UTF-8 across chunk boundaries (a character split between two reads is kept until it is
/// whole); carriage returns are dropped so patterns see `\n` line ends whatever the tty does.
package struct ExpectBuffer: Sendable {
  /// Text received and not yet consumed by a match.
  package private(set) var pending = ""
  private var partial: [UInt8] = []
  /// Text is dropped from the front beyond this size (an unread console cannot grow memory without bound).
  package var limit = 16 << 20
  /// Where the next search for `searched.pattern` may start (UTF-8 offset into `pending`): text before it was
  /// already searched. Keeps a long command output from being searched again on every arrival.
  private var searched: (pattern: Pattern, resume: Int)?

  package init() {}

  /// What a successful match consumed.
  package struct Match: Sendable, Equatable {
    /// The text before the match.
    package var before: String
    /// The matched text.
    package var text: String
    /// Capture groups; `groups[0] == text`.
    package var groups: [String]
  }

  /// Adds bytes read from the console; returns the text they completed (for transcripts and watchers).
  @discardableResult
  package mutating func append(_ bytes: [UInt8]) -> String {
    partial += bytes
    // Keep back an incomplete UTF-8 sequence at the end.
    var cut = partial.count
    var back = 0
    while back < 3, cut - back - 1 >= 0 {
      let byte = partial[cut - back - 1]
      if byte & 0xC0 == 0x80 { back += 1; continue }  // continuation byte
      if byte & 0x80 != 0 {
        let needed = byte & 0xE0 == 0xC0 ? 2 : byte & 0xF0 == 0xE0 ? 3 : byte & 0xF8 == 0xF0 ? 4 : 1
        if back + 1 < needed { cut -= back + 1 }
      }
      break
    }
    let complete = Array(partial[..<cut])
    partial.removeFirst(cut)
    let decoded = String(decoding: complete, as: UTF8.self)
    let text = String(String.UnicodeScalarView(decoded.unicodeScalars.filter { $0 != "\r" }))
    pending += text
    if pending.utf8.count > limit {
      pending = String(pending.suffix(limit / 2))
      searched = nil
    }
    return text
  }

  /// Finds `pattern` in the pending text and consumes everything up to the end of the match.
  ///
  /// A search that fails is resumed next time from the start of the line before the last unfinished one, so
  /// a pattern may span at most two lines (every harness pattern is one line, most ending in its newline).
  package mutating func consume(_ pattern: Pattern) -> Match? {
    let utf8 = pending.utf8
    let resume = searched?.pattern == pattern ? searched!.resume : 0
    let start = utf8.index(utf8.startIndex, offsetBy: resume)
    let tail = String(pending[start...])
    guard let (tailRange, groups) = pattern.firstMatch(in: tail) else {
      searched = (pattern, resume + Self.resumeOffset(in: tail))
      return nil
    }
    let lower = utf8.index(start, offsetBy: tail.utf8.distance(from: tail.startIndex, to: tailRange.lowerBound))
    let upper = utf8.index(start, offsetBy: tail.utf8.distance(from: tail.startIndex, to: tailRange.upperBound))
    let match = Match(before: String(pending[..<lower]), text: String(pending[lower..<upper]), groups: groups)
    pending = String(pending[upper...])
    searched = nil
    return match
  }

  /// The UTF-8 offset in `text` of the start of the line before its last unfinished line.
  static func resumeOffset(in text: String) -> Int {
    let bytes = Array(text.utf8)
    var newlines = 0
    var i = bytes.count
    while i > 0 {
      if bytes[i - 1] == 0x0A {
        newlines += 1
        if newlines == 2 { return i }
      }
      i -= 1
    }
    return 0
  }

  /// Drops all pending text (before sending a command whose answer must not match old output).
  package mutating func discard() {
    pending = ""
    searched = nil
  }
}
