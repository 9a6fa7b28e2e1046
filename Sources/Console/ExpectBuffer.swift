/// The unconsumed output of a console, and the matching that consumes it. Pure: bytes in, matches out.
///
/// Bytes are decoded as UTF-8 across chunk boundaries (a character split between two reads is kept until it is
/// whole); carriage returns are dropped so patterns see `\n` line ends whatever the tty does.
public struct ExpectBuffer: Sendable {
  /// Text received and not yet consumed by a match.
  public private(set) var pending = ""
  private var partial: [UInt8] = []
  /// Text is dropped from the front beyond this size (an unread console cannot grow memory without bound).
  public var limit = 1 << 20

  public init() {}

  /// What a successful match consumed.
  public struct Match: Sendable, Equatable {
    /// The text before the match.
    public var before: String
    /// The matched text.
    public var text: String
    /// Capture groups; `groups[0] == text`.
    public var groups: [String]
  }

  /// Adds bytes read from the console; returns the text they completed (for transcripts and watchers).
  @discardableResult
  public mutating func append(_ bytes: [UInt8]) -> String {
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
    if pending.utf8.count > limit { pending = String(pending.suffix(limit / 2)) }
    return text
  }

  /// Finds `pattern` in the pending text and consumes everything up to the end of the match.
  public mutating func consume(_ pattern: Pattern) -> Match? {
    guard let (range, groups) = pattern.firstMatch(in: pending) else { return nil }
    let match = Match(before: String(pending[..<range.lowerBound]), text: String(pending[range]), groups: groups)
    pending = String(pending[range.upperBound...])
    return match
  }

  /// Drops all pending text (before sending a command whose answer must not match old output).
  public mutating func discard() { pending = "" }
}
