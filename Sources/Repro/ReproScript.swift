import Foundation
import HarnessSupport
import Images

/// A reproducible bug scenario, read from YAML: which stack, then steps played on the booted machine.
///
/// ```yaml
/// name: a client killed while its TA waits in an OCALL
/// manifest: default
/// timeout: 120
/// steps:
///   - shell: teeharness-client ocall -c sleep -m 5000 > /tmp/c.json 2>&1 & echo $!
///     save: client
///   - wait: grep -q '^serving' /tmp/teeharness-plugin.log
///   - kill: ${client}
///   - threads: free
/// ```
package struct ReproScript: Sendable {
  package var name: String
  package var description: String?
  /// A manifest name in `manifests/` or a path (relative to the script).
  package var manifest: String
  package var timeout: Duration
  /// Bad-pattern rules the scenario provokes on purpose.
  package var allowing: Set<String>
  package var steps: [Step]
  package var file: String

  package struct Step: Sendable {
    package var action: Action
    package var location: SourceLocation
  }

  package enum Console: String, Sendable, CaseIterable { case normal, secure }

  package enum Action: Sendable {
    /// A command at the normal-world shell: its exit status must be `status` (nil: any) and its output must
    /// match `expect`; `save` keeps the trimmed output as `${name}`.
    case shell(String, expect: String?, status: Int?, save: String?, timeout: Duration)
    /// Bytes typed at the secure console; with `read`, each must be read by OP-TEE (its `got 0x..` line).
    case secure(String, read: Bool, timeout: Duration)
    /// A pattern (regular expression) that must show on a console.
    case expect(Console, String, timeout: Duration)
    /// Stop the next time a CPU executes `symbol` (OP-TEE or TF-A); optionally read `size` bytes at a symbol
    /// or address and match/save the value; then continue.
    case gdb(break: String, read: String?, size: Int, expect: String?, save: String?, timeout: Duration)
    /// OP-TEE's thread table: `free` (every thread FREE) or a pattern the table must match, e.g. `SUSPENDED`.
    case threads(String, timeout: Duration)
    /// A QMP command; its JSON answer must match `expect`.
    case qmp(String, arguments: [String: String], expect: String?)
    /// Sends `signal` to a guest process, by pid or by name; it must exist.
    case kill(String, signal: String)
    /// A shell condition that must become true within `timeout`.
    case wait(String, timeout: Duration)
  }

  package static let stepKinds = ["shell", "secure", "expect", "gdb", "threads", "qmp", "kill", "wait"]

  /// Reads a script.
  /// - Throws: `HarnessError` that starts with `file:line:column:` for malformed YAML, an unknown step or key, a
  ///   wrong value, or a `${name}` no earlier step saves.
  package static func load(_ file: URL) throws -> ReproScript {
    guard let text = try? String(contentsOf: file, encoding: .utf8) else {
      throw HarnessError("repro script \(file.path) not found or unreadable", fix: "pass a YAML file such as repro/thread-flood.yaml")
    }
    return try parse(text, file: file.path)
  }

  package static func parse(_ text: String, file: String) throws -> ReproScript {
    let tree = try ManifestTree.parse(text, file: file)
    try tree.requireKeys(["name", "description", "manifest", "timeout", "allowing", "steps"], in: "the script")
    guard let name = try tree["name"].map({ try $0.scalar("name") }) else {
      throw HarnessError("\(tree.location): the script has no `name`", fix: "add `name: what this reproduces`")
    }
    guard let stepsTree = tree["steps"], case .sequence(let items, _) = stepsTree, !items.isEmpty else {
      throw HarnessError("\((tree["steps"] ?? tree).location): the script needs `steps:`, a list of at least one step",
        fix: "add `steps:` with `- shell: …` items (one of: \(stepKinds.joined(separator: ", ")))")
    }
    var saved: Set<String> = []
    var steps: [Step] = []
    for item in items {
      let step = try parseStep(item)
      for variable in Self.variables(in: step.action) where !saved.contains(variable) {
        throw HarnessError("\(item.location): ${\(variable)} is used before any step saves it",
          fix: "add `save: \(variable)` to an earlier shell or gdb step")
      }
      if let name = step.action.saves { saved.insert(name) }
      steps.append(step)
    }
    return ReproScript(
      name: name,
      description: try tree["description"].map { try $0.scalar("description") },
      manifest: try tree["manifest"].map { try $0.scalar("manifest") } ?? "default",
      timeout: try tree["timeout"].map { try seconds($0, "timeout") } ?? .seconds(300),
      allowing: Set(try tree["allowing"].map { try $0.list("allowing") } ?? []),
      steps: steps, file: file)
  }

  static func parseStep(_ item: ManifestTree) throws -> Step {
    // A step starts with its kind; `expect` after it is an option of that step.
    guard case .mapping(let entries, let location) = item, let kind = entries.first, stepKinds.contains(kind.key) else {
      let first: String = if case .mapping(let e, _) = item, let k = e.first?.key { "'\(k)'" } else { "this" }
      throw HarnessError("\(item.location): \(first) is not a step (one of: \(stepKinds.joined(separator: ", ")))",
        fix: "start the step with its kind, e.g. `- shell: uname -r`")
    }
    let value = kind.value
    func timeout(_ fallback: Double) throws -> Duration { try item["timeout"].map { try seconds($0, "timeout") } ?? .seconds(fallback) }
    func text(_ key: String) throws -> String? { try item[key].map { try $0.scalar(key) } }
    let action: Action
    switch kind.key {
    case "shell":
      try item.requireKeys(["shell", "expect", "status", "save", "timeout"], in: "a shell step")
      let status: Int? = try item["status"].map { node in
        let text = try node.scalar("status")
        if text == "any" { return -1 }
        guard let n = Int(text), (0...255).contains(n) else {
          throw HarnessError("\(node.location): `status` must be 0–255 or `any`, not '\(text)'", fix: "fix the value")
        }
        return n
      }
      action = .shell(try value.scalar("shell"), expect: try regex(item["expect"]), status: status == -1 ? nil : (status ?? 0),
        save: try name(item["save"]), timeout: try timeout(60))
    case "secure":
      try item.requireKeys(["secure", "read", "timeout"], in: "a secure step")
      let read = try item["read"].map { try boolean($0, "read") } ?? true
      action = .secure(try value.scalar("secure"), read: read, timeout: try timeout(5))
    case "expect":
      try item.requireKeys(["expect", "console", "timeout"], in: "an expect step")
      let consoleName = try text("console") ?? "normal"
      guard let console = Console(rawValue: consoleName) else {
        throw HarnessError("\(item["console"]!.location): `console` is normal or secure, not '\(consoleName)'", fix: "fix the value")
      }
      action = .expect(console, try regex(value)!, timeout: try timeout(30))
    case "gdb":
      try item.requireKeys(["gdb", "read", "size", "expect", "save", "timeout"], in: "a gdb step")
      let size = try item["size"].map { node -> Int in
        let text = try node.scalar("size")
        guard let n = Int(text), [1, 2, 4, 8].contains(n) else {
          throw HarnessError("\(node.location): `size` is 1, 2, 4 or 8 bytes, not '\(text)'", fix: "fix the value")
        }
        return n
      } ?? 4
      if item["read"] == nil, let extra = ["expect", "save", "size"].first(where: { item[$0] != nil }) {
        throw HarnessError("\(item[extra]!.location): `\(extra)` needs `read:` (what to read at the stop)", fix: "add `read: SYMBOL` or remove it")
      }
      action = .gdb(break: try value.scalar("gdb"), read: try text("read"), size: size, expect: try regex(item["expect"]),
        save: try name(item["save"]), timeout: try timeout(10))
    case "threads":
      try item.requireKeys(["threads", "timeout"], in: "a threads step")
      let expected = try value.scalar("threads")
      if expected != "free" { _ = try regex(value) }
      action = .threads(expected, timeout: try timeout(10))
    case "qmp":
      try item.requireKeys(["qmp", "arguments", "expect"], in: "a qmp step")
      var arguments: [String: String] = [:]
      if let a = item["arguments"] {
        guard case .mapping(let pairs, _) = a else {
          throw HarnessError("\(a.location): `arguments` must be a mapping", fix: "write `arguments: {name: value}`")
        }
        for pair in pairs { arguments[pair.key] = try pair.value.scalar(pair.key) }
      }
      action = .qmp(try value.scalar("qmp"), arguments: arguments, expect: try regex(item["expect"]))
    case "kill":
      try item.requireKeys(["kill", "signal"], in: "a kill step")
      let signal = try text("signal") ?? "KILL"
      guard signal.allSatisfy({ $0.isLetter || $0.isNumber }) else {
        throw HarnessError("\(item["signal"]!.location): `signal` is a name or number such as KILL, SEGV, 9, not '\(signal)'", fix: "fix the value")
      }
      action = .kill(try value.scalar("kill"), signal: signal)
    default:  // wait
      try item.requireKeys(["wait", "timeout"], in: "a wait step")
      action = .wait(try value.scalar("wait"), timeout: try timeout(30))
    }
    return Step(action: action, location: location)
  }

  // MARK: values


  static func seconds(_ tree: ManifestTree, _ what: String) throws -> Duration {
    let text = try tree.scalar(what)
    guard let value = Double(text.hasSuffix("s") ? String(text.dropLast()) : text), value > 0, value <= 3600 else {
      throw HarnessError("\(tree.location): `\(what)` is seconds (0 < n ≤ 3600), not '\(text)'", fix: "write e.g. `\(what): 10`")
    }
    return .milliseconds(Int(value * 1000))
  }

  static func boolean(_ tree: ManifestTree, _ what: String) throws -> Bool {
    switch try tree.scalar(what) {
    case "true", "yes": return true
    case "false", "no": return false
    case let other: throw HarnessError("\(tree.location): `\(what)` is true or false, not '\(other)'", fix: "fix the value")
    }
  }

  static func regex(_ tree: ManifestTree?) throws -> String? {
    guard let tree else { return nil }
    let pattern = try tree.scalar("pattern")
    do {
      _ = try NSRegularExpression(pattern: pattern)
    } catch {
      throw HarnessError("\(tree.location): '\(pattern)' is not a valid regular expression", fix: "escape special characters with \\\\")
    }
    return pattern
  }

  static func name(_ tree: ManifestTree?) throws -> String? {
    guard let tree else { return nil }
    let name = try tree.scalar("save")
    guard let first = name.first, first.isLetter, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
      throw HarnessError("\(tree.location): `save` takes a name of letters, digits and _, not '\(name)'", fix: "fix the name")
    }
    return name
  }

  /// The `${name}` references in a text.
  static func variables(in text: String) -> [String] {
    let regex = try! NSRegularExpression(pattern: #"\$\{([A-Za-z][A-Za-z0-9_]*)\}"#)
    return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
      Range($0.range(at: 1), in: text).map { String(text[$0]) }
    }
  }

  static func variables(in action: Action) -> [String] {
    action.texts.flatMap { variables(in: $0) }
  }
}

extension ReproScript.Action {
  /// The variable this step saves.
  var saves: String? {
    switch self {
    case .shell(_, _, _, let save, _), .gdb(_, _, _, _, let save, _): save
    default: nil
    }
  }

  /// Every text of the step in which `${name}` is replaced.
  var texts: [String] {
    switch self {
    case .shell(let command, let expect, _, _, _): [command] + (expect.map { [$0] } ?? [])
    case .secure(let text, _, _): [text]
    case .expect(_, let pattern, _): [pattern]
    case .gdb(let symbol, let read, _, let expect, _, _): [symbol] + [read, expect].compactMap { $0 }
    case .threads(let expected, _): [expected]
    case .qmp(let command, let arguments, let expect): [command] + arguments.values + (expect.map { [$0] } ?? [])
    case .kill(let target, _): [target]
    case .wait(let condition, _): [condition]
    }
  }
}
