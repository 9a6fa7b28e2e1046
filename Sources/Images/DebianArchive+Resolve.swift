import Foundation
import HarnessSupport

extension DebianArchive {
  /// The suites the private state indexes (arm64 only, with sources).
  static let suites = ["bookworm", "trixie", "sid"]

  private var aptOptions: [String] {
    let s = stateDirectory.path
    return [
      "-o", "Dir::Etc::SourceList=\(s)/etc/sources.list",
      "-o", "Dir::Etc::SourceParts=\(s)/etc/sources.list.d",
      "-o", "Dir::Etc::Preferences=\(s)/etc/preferences",
      "-o", "Dir::Etc::PreferencesParts=\(s)/etc/preferences.d",
      "-o", "Dir::State::Lists=\(s)/lists",
      "-o", "Dir::Cache=\(s)/cache",
      "-o", "Dir::State::status=/dev/null",
      "-o", "APT::Architecture=arm64",
      "-o", "APT::Architectures::=arm64",
      "-o", "APT::Sandbox::User=root",
      "-o", "Debug::NoLocking=1",
    ]
  }

  /// Writes the private apt configuration and downloads the suites' indexes (about 10 s).
  /// - Throws: `HarnessError` when the archive cannot be reached.
  package func updateIndexes() async throws {
    let fm = FileManager.default
    for dir in ["etc/sources.list.d", "etc/preferences.d", "lists/partial", "cache/archives/partial"] {
      try fm.createDirectory(at: stateDirectory.appendingPathComponent(dir), withIntermediateDirectories: true)
    }
    try Data().write(to: stateDirectory.appendingPathComponent("etc/sources.list"))
    let sources = """
      Types: deb deb-src
      URIs: \(mirror)
      Suites: \(Self.suites.joined(separator: " "))
      Components: main
      Architectures: arm64
      Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

      """
    try Data(sources.utf8).write(to: stateDirectory.appendingPathComponent("etc/sources.list.d/teeharness.sources"))
    let result = try await Command.run(["apt-get"] + aptOptions + ["update"])
    if !result.succeeded || result.output.contains("Failed to fetch") || result.output.contains("Could not resolve") {
      throw HarnessError("cannot update the package indexes from \(mirror)",
        fix: "check that the archive is reachable (network, proxy settings)", details: result.output.lastLines(8))
    }
  }

  /// Resolves `key` to the archive's current files, with their sha256 from the signed indexes.
  /// - Throws: `HarnessError` when the package is not in the suite.
  package func resolve(_ key: LockKey) async throws -> [LockedFile] {
    switch key.kind {
    case .source:
      let result = try await Command.run(["apt-get"] + aptOptions + ["source", "--print-uris", "\(key.package)"])
      let files = Self.parsePrintURIs(result.output)
      guard result.succeeded, !files.isEmpty else {
        throw HarnessError("source package \(key.package) is not in the archive",
          fix: "check the name and suite in the manifest", details: result.output.lastLines(4))
      }
      // The version as the .dsc names it (`optee-os_4.10.0-2.dsc`; an epoch is not part of file names).
      guard let dsc = files.first(where: { $0.name.hasSuffix(".dsc") }) else {
        throw HarnessError("source package \(key.package) has no .dsc in the archive", fix: "check the manifest")
      }
      let version = String(dsc.name.dropFirst(key.package.name.count + 1).dropLast(4))
      return files.map { LockedFile(package: key.package.name, version: version, name: $0.name, path: $0.path, size: $0.size, sha256: $0.sha256) }
    case .binary:
      var resolved: [LockedFile] = []
      var queue = [key.package.name]
      var seen: Set<String> = []
      while let name = queue.first {
        queue.removeFirst()
        guard seen.insert(name).inserted else { continue }
        let ref = PackageRef(name, suite: key.package.suite)
        let (version, depends) = try await binaryControl(ref)
        let result = try await Command.run(["apt-get"] + aptOptions + ["download", "--print-uris", "\(name)=\(version)"])
        guard result.succeeded, let file = Self.parsePrintURIs(result.output).first else {
          throw HarnessError("binary package \(ref) is not in the archive", fix: "check the name and suite in the manifest",
            details: result.output.lastLines(4))
        }
        resolved.append(LockedFile(package: name, version: version, name: file.name, path: file.path, size: file.size, sha256: file.sha256))
        queue += depends.filter { dep in key.follow.contains { dep.hasPrefix($0) } }
      }
      return resolved
    }
  }

  private func binaryControl(_ ref: PackageRef) async throws -> (version: String, depends: [String]) {
    let result = try await Command.run(["apt-cache"] + aptOptions + ["show", "--no-all-versions", "\(ref)"])
    let fields = Self.controlFields(result.output)
    guard result.succeeded, let version = fields["Version"] else {
      throw HarnessError("binary package \(ref) is not in the archive", fix: "check the name and suite in the manifest",
        details: result.output.lastLines(4))
    }
    let depends = (fields["Depends"] ?? "").split(separator: ",").compactMap { clause -> String? in
      let first = clause.split(separator: "|").first?.trimmingCharacters(in: .whitespaces) ?? ""
      return first.split(separator: " ").first.map(String.init)
    }
    return (version, depends)
  }

  struct PrintedURI: Equatable {
    var name: String
    var path: String
    var size: Int
    var sha256: String
  }

  /// Parses apt's `--print-uris` lines: `'http://…/pool/main/o/x/x_1.dsc' x_1.dsc 2080 SHA256:abc…`.
  static func parsePrintURIs(_ text: String) -> [PrintedURI] {
    text.split(separator: "\n").compactMap { line in
      guard line.hasPrefix("'") else { return nil }
      let words = line.split(separator: " ")
      guard words.count >= 4, let size = Int(words[2]), words[3].hasPrefix("SHA256:") else { return nil }
      let url = words[0].trimmingCharacters(in: CharacterSet(charactersIn: "'"))
      guard let pool = url.range(of: "/pool/") else { return nil }
      let path = String(url[url.index(after: pool.lowerBound)...]).removingPercentEncoding ?? ""
      return PrintedURI(name: String(words[1]), path: path, size: size, sha256: String(words[3].dropFirst(7)))
    }
  }

  /// `Field: value` pairs of one control stanza (continuation lines folded).
  static func controlFields(_ stanza: String) -> [String: String] {
    var fields: [String: String] = [:]
    var last: String?
    for line in stanza.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.first == " ", let key = last {
        fields[key, default: ""] += "\n" + line.trimmingCharacters(in: .whitespaces)
      } else if let colon = line.firstIndex(of: ":") {
        let key = String(line[..<colon])
        if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        last = key
      }
    }
    return fields
  }
}
