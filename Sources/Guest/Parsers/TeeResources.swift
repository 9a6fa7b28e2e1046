import Foundation

/// What the TEE holds at a quiet moment, as `xtest --stats` reports it: the loaded TA instances with their
/// sessions, and the bytes allocated in each of OP-TEE's memory pools. Pure: parsed from xtest's output.
package struct TeeResources: Sendable, Equatable {
  /// One loaded TA instance (`xtest --stats --ta`).
  package struct Instance: Sendable, Equatable, CustomStringConvertible {
    package var uuid: String
    package var sessions: Int
    package var panicked: Bool
    package var description: String { "\(uuid) with \(sessions) session(s)\(panicked ? ", panicked" : "")" }
  }

  package var instances: [Instance]
  /// Pool name (`Heap`, `Physical TA memory`, …) → bytes allocated (`xtest --stats --alloc`).
  package var allocated: [String: Int]

  package init(instances: [Instance], allocated: [String: Int]) {
    self.instances = instances
    self.allocated = allocated
  }

  /// Parses `xtest --stats --ta` (no instance at all is answered with TEE_ERROR_ITEM_NOT_FOUND, 0xffff0008).
  package static func instances(parsing text: String) -> [Instance] {
    var found: [Instance] = []
    for line in lines(text) {
      if line.hasPrefix("ta("), line.hasSuffix(")") {
        found.append(Instance(uuid: String(line.dropFirst(3).dropLast()), sessions: 0, panicked: false))
      } else if let value = Self.number(in: line, after: "session number("), !found.isEmpty {
        found[found.count - 1].sessions = value
      } else if let value = Self.number(in: line, after: "panicked("), !found.isEmpty {
        found[found.count - 1].panicked = value != 0
      }
    }
    return found
  }

  /// Parses `xtest --stats --alloc`: each `Pool: NAME` followed by `Bytes allocated: N` (xtest pads the values).
  package static func allocations(parsing text: String) -> [String: Int] {
    var pools: [String: Int] = [:]
    var pool: String?
    for line in lines(text) {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let key = line[..<colon].trimmingCharacters(in: .whitespaces)
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      if key == "Pool" {
        pool = value
      } else if key == "Bytes allocated", let name = pool, let bytes = Int(value) {
        pools[name] = bytes
        pool = nil
      }
    }
    return pools
  }

  /// The lines of `text`, trimmed (a serial console may end them with CR LF).
  private static func lines(_ text: String) -> [String] {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
  }

  /// What this holds beyond `baseline`: instances not there before, pools that grew. Empty when nothing leaked.
  package func leaks(since baseline: TeeResources) -> [String] {
    var extra = instances
    for old in baseline.instances {
      if let i = extra.firstIndex(of: old) { extra.remove(at: i) }
    }
    let grown = allocated.keys.sorted().compactMap { pool -> String? in
      guard let now = allocated[pool], let before = baseline.allocated[pool], now > before else { return nil }
      return "\(pool) \(before) → \(now) bytes"
    }
    return extra.map { "TA instance \($0)" } + grown.map { "OP-TEE pool \($0)" }
  }

  private static func number(in line: String, after prefix: String) -> Int? {
    guard line.hasPrefix(prefix), let close = line.firstIndex(of: ")") else { return nil }
    return Int(line[line.index(line.startIndex, offsetBy: prefix.count)..<close])
  }
}
