/// The median of measurements; nil when there are none.
package func median(_ values: [Double]) -> Double? {
  guard !values.isEmpty else { return nil }
  let sorted = values.sorted()
  return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// "median 0.002 s, min 0.001 s, max 0.006 s over 20" for durations in seconds; "none" when there are none.
package func spread(_ seconds: [Double]) -> String {
  guard let low = seconds.min(), let high = seconds.max(), let mid = median(seconds) else { return "none" }
  return "median \(mid.formatted(decimals: 3)) s, min \(low.formatted(decimals: 3)) s, max \(high.formatted(decimals: 3)) s over \(seconds.count)"
}
