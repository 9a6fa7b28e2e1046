/// A sequence cut into runs of a repeated unit, for messages a person reads: "(a → b) × 12 → c" instead of 25
/// names. Pure.
package enum RepeatedRuns {
  /// Where each run starts, how long its unit is and how often it repeats back to back; the runs cover `items` in
  /// order. From each start, the unit (up to `longestUnit` items) that covers the most items wins, a shorter one
  /// on a tie.
  package static func split<Item: Equatable>(_ items: [Item], longestUnit: Int = 4) -> [(start: Int, length: Int, times: Int)] {
    var runs: [(start: Int, length: Int, times: Int)] = [], i = 0
    while i < items.count {
      var best = (length: 1, times: 1)
      for length in 1...max(1, min(longestUnit, items.count - i)) {
        let unit = items[i..<(i + length)]
        var times = 1
        while i + (times + 1) * length <= items.count,
          items[(i + times * length)..<(i + (times + 1) * length)].elementsEqual(unit) { times += 1 }
        if times > 1, times * length > best.length * best.times { best = (length, times) }
      }
      runs.append((i, best.length, best.times))
      i += best.length * best.times
    }
    return runs
  }

  /// `names` in order, each run written once with its count: "a → (b → c) × 3 → d"; `empty` when there are none.
  /// With `limit`, more runs than that are cut to the first two thirds of it, a count, and the last third.
  package static func trail(_ names: [String], empty: String = "nothing", limit: Int? = nil) -> String {
    var parts = split(names).map { run -> String in
      let unit = names[run.start..<(run.start + run.length)].joined(separator: " → ")
      return run.times == 1 ? unit : run.length == 1 ? "\(unit) × \(run.times)" : "(\(unit)) × \(run.times)"
    }
    if let limit, parts.count > limit, limit >= 3 {
      let head = limit * 2 / 3, tail = limit - head
      parts = Array(parts.prefix(head)) + ["… \(parts.count - limit) more …"] + Array(parts.suffix(tail))
    }
    return parts.isEmpty ? empty : parts.joined(separator: " → ")
  }
}
