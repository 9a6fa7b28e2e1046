/// Text made safe inside XML or HTML: the five metacharacters as entities; a character XML 1.0 cannot hold (the
/// ESC of a terminal sequence, other control characters) dropped from a report, or shown as its code on a page.
package enum Markup {
  package enum Unholdable { case drop, showCode }

  package static func escape(_ text: String, unholdable: Unholdable) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
      default:
        let v = scalar.value
        if (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || (v >= 0x10000 && v <= 0x10FFFF) {
          out.unicodeScalars.append(scalar)
        } else if unholdable == .showCode {
          out += "\\x" + String(v, radix: 16).leftPadded(to: 2)
        }
      }
    }
    return out
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
