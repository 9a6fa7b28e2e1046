import Foundation

/// What a console wait looks for: a literal string or a regular expression.
public struct Pattern: Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
  public enum Kind: Sendable { case literal(String), regex(String) }
  public let kind: Kind

  public init(stringLiteral value: String) { kind = .literal(value) }
  public static func literal(_ text: String) -> Pattern { Pattern(kind: .literal(text)) }
  /// A regular expression (ICU syntax, as `NSRegularExpression`). Invalid expressions never match.
  public static func regex(_ expression: String) -> Pattern { Pattern(kind: .regex(expression)) }
  init(kind: Kind) { self.kind = kind }

  public var description: String {
    switch kind {
    case .literal(let s): "\"\(s)\""
    case .regex(let r): "/\(r)/"
    }
  }

  /// The first match in `text`: its range and the capture groups (group 0 is the whole match).
  public func firstMatch(in text: String) -> (range: Range<String.Index>, groups: [String])? {
    switch kind {
    case .literal(let literal):
      guard let range = text.range(of: literal) else { return nil }
      return (range, [String(text[range])])
    case .regex(let expression):
      guard let regex = Self.compiled(expression),
        let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
        let range = Range(m.range, in: text)
      else { return nil }
      let groups = (0..<m.numberOfRanges).map { i in Range(m.range(at: i), in: text).map { String(text[$0]) } ?? "" }
      return (range, groups)
    }
  }

  private static func compiled(_ expression: String) -> NSRegularExpression? {
    try? NSRegularExpression(pattern: expression, options: [.anchorsMatchLines])
  }
}
