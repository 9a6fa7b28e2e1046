/// The nine ways a GICv3 interrupt meets a CPU: its group (who should handle it) × the world the CPU is in when
/// it arrives. Numbered as in the routing discussion the secure-interrupts suite proves (seed 002).
public struct RoutingCase: Sendable, Equatable, Hashable {
  public enum Group: String, Sendable { case group0 = "Group 0", secureGroup1 = "Secure Group 1", nonSecureGroup1 = "Non-secure Group 1" }
  public enum World: String, Sendable { case normal = "normal world", secure = "secure world", el3 = "EL3 (TF-A)" }

  public var number: Int
  public var group: Group
  public var world: World
  /// Who should end up handling it.
  public var owner: String

  public var title: String { "case \(number): \(group.rawValue) while the CPU is in the \(world.rawValue)" }

  public static let nonSecureInNormal = RoutingCase(number: 1, group: .nonSecureGroup1, world: .normal, owner: "Linux")
  public static let nonSecureInEL3 = RoutingCase(number: 2, group: .nonSecureGroup1, world: .el3, owner: "Linux")
  public static let nonSecureInSecure = RoutingCase(number: 3, group: .nonSecureGroup1, world: .secure, owner: "Linux")
  public static let secureInSecure = RoutingCase(number: 4, group: .secureGroup1, world: .secure, owner: "OP-TEE")
  public static let secureInEL3 = RoutingCase(number: 5, group: .secureGroup1, world: .el3, owner: "OP-TEE")
  public static let secureInNormal = RoutingCase(number: 6, group: .secureGroup1, world: .normal, owner: "OP-TEE")
  public static let group0InEL3 = RoutingCase(number: 7, group: .group0, world: .el3, owner: "TF-A")
  public static let group0InSecure = RoutingCase(number: 8, group: .group0, world: .secure, owner: "TF-A")
  public static let group0InNormal = RoutingCase(number: 9, group: .group0, world: .normal, owner: "TF-A")

  public static let all: [RoutingCase] = [
    nonSecureInNormal, nonSecureInEL3, nonSecureInSecure, secureInSecure, secureInEL3, secureInNormal,
    group0InEL3, group0InSecure, group0InNormal,
  ]
}

/// One line of the routing table: what a case's test saw.
public struct RoutingRow: Sendable, Equatable {
  public var routingCase: RoutingCase
  /// Who handled it, and through which path.
  public var handler: String
  /// How many interrupts of the case were seen handled that way.
  public var count: Int?
  /// `passed`, `FAILED: why`, `skipped: why`.
  public var verdict: String

  public init(_ routingCase: RoutingCase, handler: String, count: Int?, verdict: String) {
    self.routingCase = routingCase
    self.handler = handler
    self.count = count
    self.verdict = verdict
  }

  /// The table, one line per case in case order (cases without a row say `not run`), columns aligned.
  public static func table(_ rows: [RoutingRow]) -> [String] {
    let header = ["case", "group", "CPU in", "handled by", "count", "verdict"]
    let body = RoutingCase.all.map { c -> [String] in
      let row = rows.first { $0.routingCase == c }
      return ["\(c.number)", c.group.rawValue, c.world.rawValue, row?.handler ?? "-", row?.count.map(String.init) ?? "-",
        row?.verdict ?? "not run"]
    }
    let widths = header.indices.map { i in ([header] + body).map { $0[i].count }.max() ?? 0 }
    return ([header] + body).map { cells in
      cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        .joined(separator: " | ")
    }
  }
}
