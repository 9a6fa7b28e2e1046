import Foundation

/// What a console wait looks for: a literal string or a regular expression (compiled once).
package struct Pattern: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
  package enum Kind: Sendable, Equatable { case literal(String), regex(String) }
  package let kind: Kind
  /// The compiled expression (nil for literals and for invalid expressions, which never match).
  private let compiled: CompiledRegex?

  package init(stringLiteral value: String) { self.init(kind: .literal(value)) }
  package static func literal(_ text: String) -> Pattern { Pattern(kind: .literal(text)) }
  /// A regular expression (ICU syntax, as `NSRegularExpression`; `^` and `$` match at line ends).
  package static func regex(_ expression: String) -> Pattern { Pattern(kind: .regex(expression)) }

  init(kind: Kind) {
    self.kind = kind
    if case .regex(let expression) = kind,
      let regex = try? NSRegularExpression(pattern: expression, options: [.anchorsMatchLines])
    {
      compiled = CompiledRegex(regex)
    } else {
      compiled = nil
    }
  }

  package static func == (a: Pattern, b: Pattern) -> Bool { a.kind == b.kind }

  package var description: String {
    switch kind {
    case .literal(let s): "\"\(s)\""
    case .regex(let r): "/\(r)/"
    }
  }

  /// The first match in `text`: its range and the capture groups (group 0 is the whole match).
  package func firstMatch(in text: String) -> (range: Range<String.Index>, groups: [String])? {
    switch kind {
    case .literal(let literal):
      guard let range = text.range(of: literal) else { return nil }
      return (range, [String(text[range])])
    case .regex:
      guard let compiled,
        let m = compiled.firstMatch(in: text),
        let range = Range(m.range, in: text)
      else { return nil }
      let groups = (0..<m.numberOfRanges).map { i in Range(m.range(at: i), in: text).map { String(text[$0]) } ?? "" }
      return (range, groups)
    }
  }
}

/// A compiled expression that patterns copied across threads share. Foundation's regular expressions keep
/// matching state (ICU's), so one match runs at a time.
final class CompiledRegex: @unchecked Sendable {
  private let regex: NSRegularExpression
  private let lock = NSLock()

  init(_ regex: NSRegularExpression) { self.regex = regex }

  func firstMatch(in text: String) -> NSTextCheckingResult? {
    lock.lock()
    defer { lock.unlock() }
    return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
  }
}
