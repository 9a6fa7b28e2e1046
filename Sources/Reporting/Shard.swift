/// A stable share of the tests for one of N CI jobs (`--shard I/N`): a test belongs to shard I when the FNV-1a
/// hash of `suite/test` is I-1 modulo N — the same on every machine and run, whatever else is selected.
package struct Shard: Sendable, Equatable, CustomStringConvertible {
  package var index: Int
  package var count: Int

  /// Parses `I/N` with 1 ≤ I ≤ N; nil otherwise.
  package init?(_ text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(i) else { return nil }
    (index, count) = (i, n)
  }

  package func contains(suite: String, test: String) -> Bool {
    Int(Self.fnv1a("\(suite)/\(test)") % UInt64(count)) == index - 1
  }

  package var description: String { "\(index)/\(count)" }

  static func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    return hash
  }
}
