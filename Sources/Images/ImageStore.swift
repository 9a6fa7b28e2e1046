import Foundation
import HarnessSupport

/// Built component outputs, content-addressed: `store/<component>/<key>/` holds the files and `record.json`
/// (the inputs that made them and each file's sha256). An output becomes visible only by an atomic rename of a
/// finished folder, so a build that fails or is interrupted leaves nothing behind but scratch space.
package struct ImageStore: Sendable {
  package var root: URL

  package init(root: URL) { self.root = root }

  /// What a stored output says about itself.
  package struct Record: Codable, Sendable {
    package var component: ComponentName
    package var key: String
    /// The canonical description of every input; its sha256 is `key`.
    package var inputs: [String]
    /// Each file below the output folder, relative path → sha256.
    package var files: [String: String]
    package var buildSeconds: Double
  }

  package func directory(_ component: ComponentName, key: String) -> URL {
    root.appendingPathComponent("store/\(component.rawValue)/\(key)", isDirectory: true)
  }

  /// A fresh scratch folder for one build, under the cache (same file system, so the result can be renamed).
  package func scratch(_ component: ComponentName) throws -> URL {
    // The owner's pid in the name: a scratch folder of a killed run is swept (`Leftovers`).
    let url = root.appendingPathComponent("tmp/\(component.rawValue)-p\(getpid())-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  package enum Lookup: Sendable {
    case missing
    case valid(Record)
    /// The folder exists but its files do not match the record: named files differ or are gone.
    case corrupted([String])
  }

  /// Looks for `component` at `key` and verifies every file against the record.
  package func lookup(_ component: ComponentName, key: String) async throws -> Lookup {
    let dir = directory(component, key: key)
    let recordURL = dir.appendingPathComponent("record.json")
    guard FileManager.default.fileExists(atPath: dir.path) else { return .missing }
    guard let data = FileManager.default.contents(atPath: recordURL.path),
      let record = try? JSONDecoder().decode(Record.self, from: data), record.key == key
    else { return .corrupted(["record.json"]) }
    let names = record.files.keys.sorted()
    let present = names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
    guard present.count == names.count else { return .corrupted(names.filter { !present.contains($0) }) }
    let digests = try await FileDigest.sha256(of: names.map { dir.appendingPathComponent($0) })
    let bad = zip(names, digests).filter { record.files[$0.0] != $0.1 }.map(\.0)
    return bad.isEmpty ? .valid(record) : .corrupted(bad)
  }

  /// Moves a finished output folder into the store under `key`, writing its record.
  /// - Returns: the record as stored.
  package func publish(_ output: URL, component: ComponentName, key: String, inputs: [String], seconds: Double) async throws -> Record {
    let fm = FileManager.default
    let names = try Self.regularFiles(below: output)
    let digests = try await FileDigest.sha256(of: names.map { output.appendingPathComponent($0) })
    let record = Record(component: component, key: key, inputs: inputs,
      files: Dictionary(uniqueKeysWithValues: zip(names, digests)), buildSeconds: seconds)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try encoder.encode(record).write(to: output.appendingPathComponent("record.json"))
    let target = directory(component, key: key)
    try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
    if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
    try fm.moveItem(at: output, to: target)
    return record
  }

  /// Removes a stored output (a corrupted one, before it is rebuilt).
  package func discard(_ component: ComponentName, key: String) throws {
    let dir = directory(component, key: key)
    if FileManager.default.fileExists(atPath: dir.path) { try FileManager.default.removeItem(at: dir) }
  }

  /// Regular files below `root` (relative paths, sorted), symlinks not followed.
  static func regularFiles(below root: URL) throws -> [String] {
    try CpioWriter.treePaths(root).filter { path in
      let type = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)[.type]
      return (type as? FileAttributeType) == .typeRegular
    }
  }
}
