import Foundation

/// The host's distribution and release, from `/etc/os-release`: host tools are installed from the host's own
/// release (Debian 12 or 13, Ubuntu 24.04), with the package names that release uses.
package struct HostRelease: Sendable, Equatable {
  /// `ID`: debian, ubuntu, …
  package var id: String
  /// `ID_LIKE`: the distributions it derives from.
  package var like: [String]
  /// `VERSION_CODENAME`: bookworm, trixie, noble (nil on a release without one, e.g. sid's os-release).
  package var codename: String?
  /// `PRETTY_NAME`, for messages.
  package var name: String

  /// Reads `KEY=value` lines (values optionally quoted); what it does not know it leaves out.
  package init(osRelease text: String) {
    var fields: [String: String] = [:]
    for line in text.split(whereSeparator: \.isNewline) {
      guard let equals = line.firstIndex(of: "="), !line.hasPrefix("#") else { continue }
      var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
        value = String(value.dropFirst().dropLast())
      }
      fields[String(line[..<equals]).trimmingCharacters(in: .whitespaces)] = value
    }
    id = fields["ID"]?.lowercased() ?? "unknown"
    like = (fields["ID_LIKE"] ?? "").lowercased().split(separator: " ").map(String.init)
    codename = fields["VERSION_CODENAME"].flatMap { $0.isEmpty ? nil : $0 }
    name = fields["PRETTY_NAME"] ?? [fields["NAME"], fields["VERSION"]].compactMap { $0 }.joined(separator: " ")
    if name.isEmpty { name = id }
  }

  /// The running host's release (`/etc/os-release`, else `/usr/lib/os-release`).
  package static var current: HostRelease {
    for file in ["/etc/os-release", "/usr/lib/os-release"] {
      if let text = try? String(contentsOfFile: file, encoding: .utf8) { return HostRelease(osRelease: text) }
    }
    return HostRelease(osRelease: "")
  }

  package var isUbuntu: Bool { id == "ubuntu" || like.contains("ubuntu") }
  /// A release apt can install the harness's tools on.
  package var usesApt: Bool { id == "debian" || id == "ubuntu" || like.contains("debian") || like.contains("ubuntu") }

  /// The name this release gives the package Debian calls `debianName`.
  package func package(_ debianName: String) -> String {
    // Ubuntu's `chromium` is `chromium-browser` (which installs the snap: it needs snapd, not a chroot).
    if isUbuntu, debianName == "chromium" { return "chromium-browser" }
    return debianName
  }
}
