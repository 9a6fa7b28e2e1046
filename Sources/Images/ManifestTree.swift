import Foundation
import HarnessSupport
import Yams

/// Where a value stands in a manifest file, for error messages that point at it.
package struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
  package var file: String
  package var line: Int
  package var column: Int
  package var description: String { line == 0 ? file : "\(file):\(line):\(column)" }

  /// A value that comes from the command line (`--with`, `--set`, `--bin-dir`), named by its flag.
  package static func commandLine(_ flag: String) -> SourceLocation { SourceLocation(file: flag, line: 0, column: 0) }
}

/// A manifest as parsed YAML: scalars, mappings in file order, sequences — each with its location. Kept
/// apart from the typed `StackManifest` so that variants can be merged before they are interpreted.
package indirect enum ManifestTree: Sendable, Equatable {
  case scalar(String, SourceLocation)
  case mapping([Entry], SourceLocation)
  case sequence([ManifestTree], SourceLocation)

  package struct Entry: Sendable, Equatable {
    package var key: String
    package var keyLocation: SourceLocation
    package var value: ManifestTree
  }

  package var location: SourceLocation {
    switch self {
    case .scalar(_, let l), .mapping(_, let l), .sequence(_, let l): l
    }
  }

  /// Parses YAML text. `file` names the source in locations and errors.
  /// - Throws: `HarnessError` with `file:line:column` for malformed YAML.
  package static func parse(_ text: String, file: String) throws -> ManifestTree {
    let node: Node?
    do {
      node = try Yams.compose(yaml: text)
    } catch let error as YamlError {
      let (problem, mark) = describe(error)
      let place = mark.map { "\(file):\($0.line):\($0.column)" } ?? file
      throw HarnessError("\(place): malformed YAML: \(problem)", fix: "fix the YAML syntax at that place")
    }
    guard let node else { return .mapping([], SourceLocation(file: file, line: 1, column: 1)) }
    var budget = largest
    return try convert(node, file: file, budget: &budget)
  }

  private static func describe(_ error: YamlError) -> (String, Mark?) {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      ([context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "), mark)
    default:
      ("\(error)", nil)
    }
  }

  /// More YAML nodes than any manifest has (the default manifest has a few hundred).
  static let largest = 100_000

  private static func convert(_ node: Node, file: String, budget: inout Int) throws -> ManifestTree {
    let mark = node.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) }
      ?? SourceLocation(file: file, line: 0, column: 0)
    // The composer has already put every alias's node in its place (shared, not copied), so a walk would
    // expand a thousand aliases of a thousand aliases: the walk stops at a size no manifest reaches.
    budget -= 1
    guard budget >= 0 else {
      throw HarnessError("\(file): more than \(Self.largest) YAML nodes: not a manifest (YAML aliases are not supported)",
        fix: "write the values out, without anchors and aliases")
    }
    switch node {
    case .scalar(let scalar):
      return .scalar(scalar.string, mark)
    case .sequence(let sequence):
      var items: [ManifestTree] = []
      for item in sequence { items.append(try convert(item, file: file, budget: &budget)) }
      return .sequence(items, mark)
    case .mapping(let mapping):
      var entries: [Entry] = []
      for (key, value) in mapping {
        guard case .scalar(let k) = key else {
          throw HarnessError("\(mark): a mapping key must be a plain word", fix: "write `key: value`")
        }
        let keyMark = key.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) } ?? mark
        if entries.contains(where: { $0.key == k.string }) {
          throw HarnessError("\(keyMark): '\(k.string)' is given twice", fix: "keep one of them")
        }
        entries.append(Entry(key: k.string, keyLocation: keyMark, value: try convert(value, file: file, budget: &budget)))
      }
      return .mapping(entries, mark)
    case .alias:
      throw HarnessError("\(mark): YAML aliases are not supported in manifests", fix: "write the value out")
    }
  }

  /// `self` with `override` laid over it: mappings merge key by key (recursively), anything else is replaced.
  package func merged(with override: ManifestTree) -> ManifestTree {
    guard case .mapping(var base, let location) = self, case .mapping(let top, _) = override else { return override }
    for entry in top {
      if let i = base.firstIndex(where: { $0.key == entry.key }) {
        base[i] = Entry(key: entry.key, keyLocation: entry.keyLocation, value: base[i].value.merged(with: entry.value))
      } else {
        base.append(entry)
      }
    }
    return .mapping(base, location)
  }

  /// The value under `key` of a mapping.
  package subscript(key: String) -> ManifestTree? {
    guard case .mapping(let entries, _) = self else { return nil }
    return entries.first { $0.key == key }?.value
  }

  /// The keys of a mapping (none for anything else).
  package var mappingKeys: [String] {
    guard case .mapping(let entries, _) = self else { return [] }
    return entries.map(\.key)
  }

  /// The mapping with `key`'s value replaced.
  package func replacing(_ key: String, with value: ManifestTree) -> ManifestTree {
    guard case .mapping(var entries, let location) = self, let i = entries.firstIndex(where: { $0.key == key }) else { return self }
    entries[i].value = value
    return .mapping(entries, location)
  }

  /// The mapping without `key`.
  package func removing(_ key: String) -> ManifestTree {
    guard case .mapping(let entries, let location) = self else { return self }
    return .mapping(entries.filter { $0.key != key }, location)
  }

  /// Requires a mapping whose keys are all in `allowed`; `what` names it in the error.
  package func requireKeys(_ allowed: Set<String>, in what: String) throws {
    guard case .mapping(let entries, _) = self else {
      throw HarnessError("\(location): \(what) must be a mapping", fix: "write `key: value` lines")
    }
    for entry in entries where !allowed.contains(entry.key) {
      throw HarnessError("\(entry.keyLocation): unknown key '\(entry.key)' in \(what) (allowed: \(allowed.sorted().joined(separator: ", ")))",
        fix: "fix the name or remove it")
    }
  }

  /// The single value of `key` (`what` in errors).
  package func scalar(_ what: String) throws -> String {
    guard case .scalar(let value, _) = self else {
      throw HarnessError("\(location): `\(what)` must be a single value", fix: "write `\(what): value` (quote it if it has ': ' or starts with '{' or '[')")
    }
    return value
  }

  /// A list of values (a single value is a list of one).
  package func list(_ what: String) throws -> [String] {
    switch self {
    case .sequence(let items, _): return try items.map { try $0.scalar(what) }
    case .scalar(let value, _): return [value]
    case .mapping: throw HarnessError("\(location): `\(what)` must be a list", fix: "write `\(what): [a, b]`")
    }
  }
}
