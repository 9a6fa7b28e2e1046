/// The nine ways a GICv3 interrupt meets a CPU: its group (who should handle it) × the world the CPU is in when
/// it arrives. Numbered as in the routing discussion the secure-interrupts suite proves (seed 002).
package struct RoutingCase: Sendable, Equatable, Hashable {
  package enum Group: String, Sendable { case group0 = "Group 0", secureGroup1 = "Secure Group 1", nonSecureGroup1 = "Non-secure Group 1" }
  package enum World: String, Sendable { case normal = "normal world", secure = "secure world", el3 = "EL3 (TF-A)" }

  package var number: Int
  package var group: Group
  package var world: World
  /// Who should end up handling it.
  package var owner: String

  package var title: String { "case \(number): \(group.rawValue) while the CPU is in the \(world.rawValue)" }

  package static let nonSecureInNormal = RoutingCase(number: 1, group: .nonSecureGroup1, world: .normal, owner: "Linux")
  package static let nonSecureInEL3 = RoutingCase(number: 2, group: .nonSecureGroup1, world: .el3, owner: "Linux")
  package static let nonSecureInSecure = RoutingCase(number: 3, group: .nonSecureGroup1, world: .secure, owner: "Linux")
  package static let secureInSecure = RoutingCase(number: 4, group: .secureGroup1, world: .secure, owner: "OP-TEE")
  package static let secureInEL3 = RoutingCase(number: 5, group: .secureGroup1, world: .el3, owner: "OP-TEE")
  package static let secureInNormal = RoutingCase(number: 6, group: .secureGroup1, world: .normal, owner: "OP-TEE")
  package static let group0InEL3 = RoutingCase(number: 7, group: .group0, world: .el3, owner: "TF-A")
  package static let group0InSecure = RoutingCase(number: 8, group: .group0, world: .secure, owner: "TF-A")
  package static let group0InNormal = RoutingCase(number: 9, group: .group0, world: .normal, owner: "TF-A")

  package static let all: [RoutingCase] = [
    nonSecureInNormal, nonSecureInEL3, nonSecureInSecure, secureInSecure, secureInEL3, secureInNormal,
    group0InEL3, group0InSecure, group0InNormal,
  ]
}

/// One line of the routing table: what a case's test saw.
package struct RoutingRow: Sendable, Equatable {
  package var routingCase: RoutingCase
  /// Who handled it, and through which path.
  package var handler: String
  /// How many interrupts of the case were seen handled that way.
  package var count: Int?
  /// `passed`, `FAILED: why`, `skipped: why`.
  package var verdict: String

  package init(_ routingCase: RoutingCase, handler: String, count: Int?, verdict: String) {
    self.routingCase = routingCase
    self.handler = handler
    self.count = count
    self.verdict = verdict
  }

  /// The table, one line per case in case order (cases without a row say `not run`), columns aligned.
  package static func table(_ rows: [RoutingRow]) -> [String] {
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
