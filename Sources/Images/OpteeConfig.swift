/// OP-TEE's resolved build configuration (`out/conf.mk`): `CFG_NAME=value` lines.
package struct OpteeConfig: Sendable, Equatable {
  package var values: [String: String]

  package init(parsing text: String) {
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") {
      guard line.hasPrefix("CFG_"), let eq = line.firstIndex(of: "=") else { continue }
      let name = line[..<eq].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "")
      values[name] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
    }
    self.values = values
  }

  package func integer(_ name: String) -> Int? { values[name].flatMap { Int($0) } }
  package func flag(_ name: String) -> Bool { values[name] == "y" }

  /// Whether two option values mean the same (`y`/`1`, `n`/`0`/empty).
  static func same(_ a: String, _ b: String) -> Bool {
    func norm(_ v: String) -> String {
      switch v { case "y", "1": "y"; case "n", "0", "": "n"; default: v }
    }
    return norm(a) == norm(b)
  }
}
