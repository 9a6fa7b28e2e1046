import Foundation
import Images

/// `teeharness --version`: the harness's version, and the commit it was built from when it runs from a git
/// checkout (read from `.git` itself: no git needed).
enum HarnessVersion {
  static let number = "0.9.0"

  static var description: String {
    guard let root = try? ProjectLayout.find().root, let commit = commit(in: root.appendingPathComponent(".git")) else {
      return "teeharness \(number)"
    }
    return "teeharness \(number) (git \(commit.prefix(12)))"
  }

  /// The commit `HEAD` names in `git`, a `.git` folder: a detached hash, or the ref's loose or packed value.
  static func commit(in git: URL) -> String? {
    guard let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    else { return nil }
    guard head.hasPrefix("ref: ") else { return isHash(head) ? head : nil }
    let ref = String(head.dropFirst(5))
    guard !ref.contains(".."), !ref.hasPrefix("/") else { return nil }
    if let loose = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines), isHash(loose)
    {
      return loose
    }
    let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
    for line in packed.split(separator: "\n") where line.hasSuffix(" \(ref)") {
      let hash = String(line.prefix { $0 != " " })
      if isHash(hash) { return hash }
    }
    return nil
  }

  static func isHash(_ text: String) -> Bool { text.count >= 40 && text.allSatisfy(\.isHexDigit) }
}
