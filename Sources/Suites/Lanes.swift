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
    let expected = expectedSeconds(tests, seconds)
    var load = [Double](repeating: 0, count: count)
    var lanes = [[Int]](repeating: [], count: count)
    for index in longestFirst(tests, seconds) {
      let lane = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
      load[lane] += expected[index]
      lanes[lane].append(index)
    }
    return lanes.filter { !$0.isEmpty }.map { $0.sorted().map { tests[$0] } }
  }

  /// The indices of `items`, longest expected first; ties keep the given order.
  package static func longestFirst<Item>(_ items: [Item], _ seconds: (Item) -> Double?) -> [Int] {
    let expected = expectedSeconds(items, seconds)
    return items.indices.sorted { (expected[$0], -$0) > (expected[$1], -$1) }
  }

  /// Each item's expected seconds: its own when known, else the known ones' mean, else a minute.
  static func expectedSeconds<Item>(_ items: [Item], _ seconds: (Item) -> Double?) -> [Double] {
    let known = items.compactMap(seconds)
    let guess = known.isEmpty ? 60 : known.reduce(0, +) / Double(known.count)
    return items.map { max(0, seconds($0) ?? guess) }
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

/// The one test a machine has taken ahead (`--jobs`), to run when the current one is done.
final class Reserved<Item: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var item: Item?

  /// Keeps `item` and gives it back.
  func hold(_ item: Item?) -> Item? { lock.withLock { self.item = item }; return item }
  /// The item kept, once.
  func take() -> Item? { lock.withLock { defer { item = nil }; return item } }
}

/// Numbers the machines of one suite across its lanes (`machine-1`, `machine-2`, …): unique, in start order.
final class MachineNumbers: @unchecked Sendable {
  private let lock = NSLock()
  private var last = 0
  func next() -> Int { lock.withLock { last += 1; return last } }
}

/// The tests of several suites, handed out one at a time, longest first, to whichever machine is free (`--jobs`):
/// no machine waits for another at a suite's end.
package final class SharedQueue<Item: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var items: [Item]

  /// `seconds` is an item's expected duration (nil when unknown).
  package init(_ items: [Item], seconds: (Item) -> Double?) {
    self.items = Lanes.longestFirst(items, seconds).reversed().map { items[$0] }
  }

  /// The longest item not yet taken; nil when all are.
  package func next() -> Item? { lock.withLock { items.popLast() } }
}
