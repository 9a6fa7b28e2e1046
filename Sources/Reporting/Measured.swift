import Foundation

/// A quantity a test measured on the guest, kept as data (the notes say it in words): its samples in the order
/// they were taken, each with a label when samples are not interchangeable (a milestone, a kill round), or
/// intervals on a timeline (a call's entry and return on the TA's clock). `report.html` draws it.
package struct Measured: Sendable, Codable, Equatable {
  package var name: String
  package var unit: String
  /// The summary: the median of the samples; nil when there are none.
  package var value: Double?
  package var samples: [Double]
  /// One label per sample, when each sample is something of its own.
  package var labels: [String]?
  /// Intervals on a timeline, drawn as lanes (then `samples` are their lengths).
  package var spans: [Span]?
  /// The bound the test held the samples to, when it held them to one (drawn as a line).
  package var bound: Double?

  /// An interval of `lane` on a timeline.
  package struct Span: Sendable, Codable, Equatable {
    package var lane: String
    package var start: Double
    package var end: Double
    package init(lane: String, start: Double, end: Double) {
      self.lane = lane
      self.start = start
      self.end = end
    }
  }

  /// Samples (labelled or not); the value is their median.
  package init(_ name: String, unit: String, samples: [Double], labels: [String]? = nil, bound: Double? = nil) {
    self.name = name
    self.unit = unit
    self.samples = samples
    self.labels = labels.map { Array($0.prefix(samples.count)) + Array(repeating: "", count: max(0, samples.count - $0.count)) }
    self.bound = bound
    value = Self.median(samples)
  }

  /// Intervals on a timeline; the samples are their lengths.
  package init(_ name: String, unit: String, spans: [Span]) {
    self.init(name, unit: unit, samples: spans.map { $0.end - $0.start })
    self.spans = spans
  }

  static func median(_ values: [Double]) -> Double? {
    let sorted = values.filter(\.isFinite).sorted()
    guard !sorted.isEmpty else { return nil }
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}
