import Foundation

/// What an initramfs holds, read from its "newc" headers: each path's type and, for a symbolic link, its
/// target. A pure reader: it checks every size against the bytes it has and stops at `TRAILER!!!`.
package struct CpioListing: Sendable, Equatable {
  package enum Kind: Sendable, Equatable { case directory, file, symlink(String), other }

  /// Path (no leading `/` or `./`) → what it is; a later entry for a path replaces an earlier one.
  package var entries: [String: Kind] = [:]

  package struct Malformed: Error, CustomStringConvertible, Equatable {
    package var description: String
  }

  /// Reads the archive(s) in `bytes` (uncompressed; concatenated archives and zero padding between them are
  /// read as the kernel reads them).
  /// - Throws: `Malformed` for a header that is not newc or a size that runs past the end.
  package init(_ bytes: [UInt8]) throws {
    var at = 0
    while at < bytes.count {
      if bytes[at] == 0 { at += 1; continue }
      guard at + 110 <= bytes.count, bytes[at..<at + 5].elementsEqual(Array("07070".utf8)) else {
        throw Malformed(description: "no cpio header at byte \(at) (not an uncompressed newc archive)")
      }
      func field(_ i: Int) throws -> Int {
        let start = at + 6 + 8 * i
        // Eight hex digits, unsigned: a sign would let a size walk the reader backwards.
        let digits = bytes[start..<start + 8]
        guard digits.allSatisfy({ UInt8(ascii: "0") ... UInt8(ascii: "9") ~= $0 || UInt8(ascii: "a") ... UInt8(ascii: "f") ~= $0 || UInt8(ascii: "A") ... UInt8(ascii: "F") ~= $0 }),
          let value = UInt32(String(decoding: digits, as: UTF8.self), radix: 16)
        else {
          throw Malformed(description: "a header field at byte \(start) is not hexadecimal")
        }
        return Int(value)
      }
      let mode = try field(1), size = try field(6), nameSize = try field(11)
      let nameStart = at + 110
      guard nameSize > 0, nameSize <= bytes.count - nameStart else { throw Malformed(description: "a name runs past the end at byte \(at)") }
      let name = String(decoding: bytes[nameStart..<nameStart + nameSize - 1], as: UTF8.self)
      let dataStart = nameStart + nameSize + Self.padding(110 + nameSize)
      guard size <= bytes.count - min(dataStart, bytes.count), dataStart <= bytes.count else {
        throw Malformed(description: "'\(name)' runs past the end of the archive")
      }
      at = dataStart + size + Self.padding(size)
      if name == "TRAILER!!!" { continue }
      let path = Self.normalize(name)
      guard !path.isEmpty else { continue }
      switch mode & 0o170000 {
      case 0o040000: entries[path] = .directory
      case 0o100000: entries[path] = .file
      case 0o120000: entries[path] = .symlink(String(decoding: bytes[dataStart..<dataStart + size], as: UTF8.self))
      default: entries[path] = .other
      }
    }
  }

  static func padding(_ count: Int) -> Int { (4 - count % 4) % 4 }

  static func normalize(_ name: String) -> String {
    name.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
  }

  /// `path` as the archive resolves it: every symbolic link among its parents followed (relative links against
  /// their folder, absolute ones against the root), the last component left as it is. Nil for a loop.
  package func resolve(_ path: String) -> String? {
    var parts = Self.normalize(path).split(separator: "/").map(String.init)
    var done: [String] = []
    var hops = 0
    while parts.count > 1 {
      let next = parts.removeFirst()
      if next == ".." { _ = done.popLast(); continue }
      let candidate = (done + [next]).joined(separator: "/")
      if case .symlink(let target) = entries[candidate] {
        hops += 1
        guard hops <= 40 else { return nil }
        let base = target.hasPrefix("/") ? [] : done
        parts = base + target.split(separator: "/").map(String.init).filter { $0 != "." } + parts
        done = []
        continue
      }
      done.append(next)
    }
    return (done + parts).joined(separator: "/")
  }

  /// The first folder named `name` (shortest path first), e.g. where the archive keeps its TAs.
  package func folder(named name: String) -> String? {
    entries.filter { $0.value == .directory && ($0.key == name || $0.key.hasSuffix("/\(name)")) }.keys
      .sorted { ($0.count, $0) < ($1.count, $1) }.first
  }
}
