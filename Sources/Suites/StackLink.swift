import Foundation
import Reporting

/// A link of the stack that tests lean on (the secure UART's interrupt reaching OP-TEE, notifications reaching
/// Linux's bottom half). A test that finds one broken says so in its failure (`TestFailure.breaks`); a later test
/// that needs it then fails at once, naming the link and the test that found it, instead of waiting out its own
/// timeouts for the same broken link. The runner knows no particular link: `Guest` names them.
package struct StackLink: Hashable, Sendable, CustomStringConvertible {
  /// What must work, as a failure says it (`the secure UART's interrupt reaching OP-TEE's console_itr_cb`).
  package var name: String
  package init(_ name: String) { self.name = name }
  package var description: String { name }
}

/// The links a run found broken, each with the first test that found it and what that test said.
package struct BrokenLinks: Sendable {
  package struct Finding: Sendable, Equatable {
    package var link: StackLink
    /// `suite/test`.
    package var foundBy: String
    package var message: String
  }

  private var found: [StackLink: Finding] = [:]

  package init() {}

  /// Keeps the first finding of each link.
  package mutating func record(_ link: StackLink, foundBy: String, message: String) {
    if found[link] == nil { found[link] = Finding(link: link, foundBy: foundBy, message: message) }
  }

  /// The first of `needs` found broken, or nil.
  package func first(of needs: [StackLink]) -> Finding? { needs.lazy.compactMap { found[$0] }.first }

  /// The failure of a test that needs a broken link: said at once, with the link and who found it.
  package static func message(_ finding: Finding) -> String {
    "\(decidedPrefix)\(finding.link), which \(finding.foundBy) found broken: \(finding.message)"
  }

  /// How the message of a test decided by a broken link begins.
  package static let decidedPrefix = "not run: it needs "

  /// Whether a result is that of a test decided by a link an earlier test found broken (it did not run).
  package static func decided(_ result: TestResult) -> Bool {
    result.outcome == .failed && (result.message ?? "").hasPrefix(decidedPrefix)
  }
}
