import Foundation
import HarnessSupport

/// The Debian archive as the host's apt configuration reaches it, used without touching that configuration:
/// suites other than the host's (trixie, sid; arm64) are resolved through a private apt state in the cache, and
/// files are fetched with apt's own downloader, which checks each one against its locked sha256.
package struct DebianArchive: Sendable {
  /// The mirror root (`…/debian`), taken from the host's apt sources.
  package var mirror: String
  /// The private apt state: its own sources, lists and cache.
  package var stateDirectory: URL

  package init(mirror: String, stateDirectory: URL) {
    self.mirror = mirror.hasSuffix("/") ? String(mirror.dropLast()) : mirror
    self.stateDirectory = stateDirectory
  }

  /// The archive the host uses: `$TEEHARNESS_DEBIAN_MIRROR`, else the first Debian URI in the host's apt sources.
  /// - Throws: `HarnessError` when no Debian mirror is configured.
  package static func host(cache: URL) throws -> DebianArchive {
    let state = cache.appendingPathComponent("apt", isDirectory: true)
    if let mirror = ProcessInfo.processInfo.environment["TEEHARNESS_DEBIAN_MIRROR"], !mirror.isEmpty {
      return DebianArchive(mirror: mirror, stateDirectory: state)
    }
    guard let mirror = hostMirror() else {
      throw HarnessError("no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d",
        fix: "set TEEHARNESS_DEBIAN_MIRROR to a Debian mirror URL")
    }
    return DebianArchive(mirror: mirror, stateDirectory: state)
  }

  /// The first URI of a main-archive stanza (not `-security`) in the host's apt sources.
  static func hostMirror(root: String = "/etc/apt") -> String? {
    var texts: [String] = []
    let parts = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/sources.list.d")) ?? []
    for file in parts.sorted() where file.hasSuffix(".sources") || file.hasSuffix(".list") {
      if let text = try? String(contentsOfFile: "\(root)/sources.list.d/\(file)", encoding: .utf8) { texts.append(text) }
    }
    if let text = try? String(contentsOfFile: "\(root)/sources.list", encoding: .utf8) { texts.insert(text, at: 0) }
    return texts.lazy.compactMap { mirror(inSources: $0) }.first
  }

  /// The first Debian main-archive URI in a sources text (deb822 or one-line format).
  static func mirror(inSources text: String) -> String? {
    for stanza in text.components(separatedBy: "\n\n") {
      var uris: [String] = []
      var suites: [String] = []
      for raw in stanza.split(separator: "\n") {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.hasPrefix("#") { continue }
        if line.hasPrefix("URIs:") { uris = line.dropFirst(5).split(separator: " ").map(String.init) }
        if line.hasPrefix("Suites:") { suites = line.dropFirst(7).split(separator: " ").map(String.init) }
        if line.hasPrefix("deb ") {
          let words = line.split(separator: " ").map(String.init).filter { !$0.hasPrefix("[") && !$0.hasSuffix("]") }
          if words.count >= 3, !words[2].contains("security"), words[1].hasSuffix("/debian") { return words[1] }
        }
      }
      if let uri = uris.first(where: { $0.hasSuffix("/debian") || $0.hasSuffix("/debian/") }),
        !suites.isEmpty, !suites.allSatisfy({ $0.contains("security") })
      {
        return uri
      }
    }
    return nil
  }
}
