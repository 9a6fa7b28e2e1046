import Foundation
import Reporting

/// How a suite's tests are spread over machines running at once (`--jobs`): longest first, each onto the machine
/// with the least work so far. Pure.
package enum Lanes {
  /// `tests` split into at most `jobs` lanes, each in the suite's order; `seconds` is a test's expected duration
  /// (nil when unknown: the known ones' mean, or a minute when none is known).
  package static func split(_ tests: [Test], jobs: Int, seconds: (Test) -> Double?) -> [[Test]] {
    let count = max(1, min(jobs, tests.count))
    guard count > 1 else { return [tests] }
    let known = tests.compactMap(seconds)
    let guess = known.isEmpty ? 60 : known.reduce(0, +) / Double(known.count)
    let expected = tests.map { max(0, seconds($0) ?? guess) }
    var load = [Double](repeating: 0, count: count)
    var lanes = [[Int]](repeating: [], count: count)
    // Longest first; ties keep the suite's order.
    for index in tests.indices.sorted(by: { (expected[$0], -$0) > (expected[$1], -$1) }) {
      let lane = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
      load[lane] += expected[index]
      lanes[lane].append(index)
    }
    return lanes.filter { !$0.isEmpty }.map { $0.sorted().map { tests[$0] } }
  }

  /// Results of lanes back in the suite's order: each test's result with the cases it reported after it.
  package static func merge(_ lanes: [[TestResult]], order names: [String]) -> [TestResult] {
    let rank = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    var blocks: [(rank: Int, results: [TestResult])] = []
    for lane in lanes {
      for result in lane {
        if let r = rank[result.name] ?? (blocks.isEmpty ? Int.max : nil) {
          blocks.append((r, [result]))
        } else {
          blocks[blocks.count - 1].results.append(result)
        }
      }
    }
    return blocks.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }.flatMap(\.element.results)
  }
}

/// Numbers the machines of one suite across its lanes (`machine-1`, `machine-2`, …): unique, in start order.
final class MachineNumbers: @unchecked Sendable {
  private let lock = NSLock()
  private var last = 0
  func next() -> Int { lock.withLock { last += 1; return last } }
}
