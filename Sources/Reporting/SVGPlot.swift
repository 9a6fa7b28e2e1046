import Foundation

/// A measurement drawn as inline SVG, the way a person would rather look than read: intervals as lanes on a
/// timeline, labelled samples as one bar each, many unlabelled samples as a histogram, a few as dots. The median
/// is a dashed line, a bound the test held the samples to a red one. Pure: a measurement in, markup out.
package enum SVGPlot {
  static let width = 800.0, left = 220.0, right = 50.0, top = 8.0, axis = 26.0

  package static func svg(_ m: Measured) -> String {
    var m = m
    if let bound = m.bound, !bound.isFinite { m.bound = nil }
    if let spans = m.spans?.filter({ $0.start.isFinite && $0.end.isFinite }), !spans.isEmpty { return lanes(m, spans) }
    let finite = m.samples.filter(\.isFinite)
    guard !finite.isEmpty else { return "" }
    if let labels = m.labels, labels.count == m.samples.count, m.samples.count <= 60 { return bars(m, labels) }
    return finite.count >= 12 ? histogram(m, finite) : dots(m, finite)
  }

  /// Each span on its lane, lanes in the order they first appear.
  static func lanes(_ m: Measured, _ spans: [Measured.Span]) -> String {
    var order: [String] = []
    for span in spans where !order.contains(span.lane) { order.append(span.lane) }
    let row = 14.0
    let low = min(0, spans.map { min($0.start, $0.end) }.min() ?? 0)
    let scale = Scale(low: low, high: spans.map { max($0.start, $0.end) }.max() ?? 1)
    let height = top + Double(order.count) * row + axis
    var out = open(height, m)
    for (i, lane) in order.enumerated() {
      let y = top + Double(i) * row
      out += text(left - 6, y + row - 3, lane, anchor: "end")
      for span in spans where span.lane == lane {
        let x = scale.x(min(span.start, span.end)), w = max(1.5, scale.x(max(span.start, span.end)) - x)
        out += #"<rect class="span" x="\#(f(x))" y="\#(f(y + 2))" width="\#(f(w))" height="\#(f(row - 4))"><title>\#(escape(lane)): \#(f(span.start, 3))–\#(f(span.end, 3)) \#(escape(m.unit))</title></rect>"#
      }
    }
    out += xAxis(scale, at: top + Double(order.count) * row, unit: m.unit)
    return out + "</svg>"
  }

  /// One bar per labelled sample.
  static func bars(_ m: Measured, _ labels: [String]) -> String {
    let row = 16.0
    let finite = m.samples.filter(\.isFinite)
    let scale = Scale(low: min(0, finite.min() ?? 0), high: max(finite.max() ?? 1, m.bound ?? 0))
    let height = top + Double(m.samples.count) * row + axis
    var out = open(height, m)
    for (i, (sample, label)) in zip(m.samples, labels).enumerated() where sample.isFinite {
      let y = top + Double(i) * row
      let x0 = scale.x(max(scale.low, 0)), x1 = scale.x(sample)
      out += text(left - 6, y + row - 4, label, anchor: "end")
      out += #"<rect class="bar" x="\#(f(min(x0, x1)))" y="\#(f(y + 2))" width="\#(f(max(1, abs(x1 - x0))))" height="\#(f(row - 4))"><title>\#(escape(label)): \#(number(sample)) \#(escape(m.unit))</title></rect>"#
      out += text(max(x0, x1) + 4, y + row - 4, number(sample), anchor: "start", cls: "value")
    }
    out += marks(m, scale, from: top, to: top + Double(m.samples.count) * row)
    out += xAxis(scale, at: top + Double(m.samples.count) * row, unit: m.unit)
    return out + "</svg>"
  }

  /// How many samples fall in each of about 12 bins.
  static func histogram(_ m: Measured, _ samples: [Double]) -> String {
    let scale = Scale(low: min(0, samples.min()!), high: max(samples.max()!, m.bound ?? 0))
    let bins = 12, plot = 110.0
    let step = (scale.high - scale.low) / Double(bins)
    var counts = Array(repeating: 0, count: bins)
    for s in samples { counts[min(bins - 1, max(0, Int((s - scale.low) / step)))] += 1 }
    let most = Double(counts.max() ?? 1)
    var out = open(top + plot + axis, m)
    out += text(left - 6, top + 10, "\(counts.max() ?? 0) samples", anchor: "end")
    for (i, count) in counts.enumerated() where count > 0 {
      let x = scale.x(scale.low + Double(i) * step), w = scale.x(scale.low + Double(i + 1) * step) - x
      let h = plot * Double(count) / most
      out += #"<rect class="bar" x="\#(f(x + 1))" y="\#(f(top + plot - h))" width="\#(f(max(1, w - 2)))" height="\#(f(h))"><title>\#(count) in \#(number(scale.low + Double(i) * step))–\#(number(scale.low + Double(i + 1) * step)) \#(escape(m.unit))</title></rect>"#
    }
    out += marks(m, scale, from: top, to: top + plot)
    out += xAxis(scale, at: top + plot, unit: m.unit)
    return out + "</svg>"
  }

  /// Each sample a dot, in the order taken from top to bottom.
  static func dots(_ m: Measured, _ samples: [Double]) -> String {
    let row = 10.0, plot = max(30, Double(samples.count) * row)
    let scale = Scale(low: min(0, samples.min()!), high: max(samples.max()!, m.bound ?? 0))
    var out = open(top + plot + axis, m)
    for (i, s) in samples.enumerated() {
      out += #"<circle class="dot" cx="\#(f(scale.x(s)))" cy="\#(f(top + 5 + Double(i) * row))" r="3.5"><title>\#(number(s)) \#(escape(m.unit))</title></circle>"#
    }
    out += marks(m, scale, from: top, to: top + plot)
    out += xAxis(scale, at: top + plot, unit: m.unit)
    return out + "</svg>"
  }

  /// The median (dashed) and the bound (red) across the plot.
  static func marks(_ m: Measured, _ scale: Scale, from y0: Double, to y1: Double) -> String {
    var out = ""
    if let median = m.value, median.isFinite {
      out += #"<line class="median" x1="\#(f(scale.x(median)))" x2="\#(f(scale.x(median)))" y1="\#(f(y0))" y2="\#(f(y1))"><title>median \#(number(median)) \#(escape(m.unit))</title></line>"#
    }
    if let bound = m.bound, bound.isFinite {
      out += #"<line class="bound" x1="\#(f(scale.x(bound)))" x2="\#(f(scale.x(bound)))" y1="\#(f(y0))" y2="\#(f(y1))"><title>bound \#(number(bound)) \#(escape(m.unit))</title></line>"#
    }
    return out
  }

  static func xAxis(_ scale: Scale, at y: Double, unit: String) -> String {
    var out = #"<line class="axis" x1="\#(f(left))" x2="\#(f(width - right))" y1="\#(f(y))" y2="\#(f(y))"/>"#
    let ticks = scale.ticks
    for (i, tick) in ticks.enumerated() {
      let x = scale.x(tick)
      out += #"<line class="axis" x1="\#(f(x))" x2="\#(f(x))" y1="\#(f(y))" y2="\#(f(y + 4))"/>"#
      out += text(x, y + 15, number(tick) + (i == ticks.count - 1 ? " \(unit)" : ""), anchor: "middle")
    }
    return out
  }

  static func open(_ height: Double, _ m: Measured) -> String {
    #"<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="\#(f(width))" height="\#(f(height))" viewBox="0 0 \#(f(width)) \#(f(height))" role="img" aria-label="\#(escape(m.name))">"#
  }

  static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, cls: String = "label") -> String {
    let shown = s.count > 38 ? String(s.prefix(18)) + "…" + String(s.suffix(19)) : s
    return #"<text class="\#(cls)" x="\#(f(x))" y="\#(f(y))" text-anchor="\#(anchor)">\#(escape(shown))</text>"#
  }

  /// A linear axis from `low` to a round number at or above `high`.
  struct Scale {
    var low: Double
    var high: Double
    var step: Double
    init(low: Double, high: Double) {
      // Only finite values reach a plot; should one slip through, the axis is 0…1 rather than endless.
      let (low, high) = low.isFinite && high.isFinite ? (low, high) : (0, 1)
      let span = max(high - low, abs(high) * 1e-3, 1e-9)
      let raw = span / 5
      let magnitude = pow(10, floor(log10(raw)))
      let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
      self.step = step
      self.low = floor(low / step) * step
      self.high = max(self.low + step, ceil(high / step) * step)
    }
    func x(_ v: Double) -> Double { SVGPlot.left + (v - low) / (high - low) * (SVGPlot.width - SVGPlot.left - SVGPlot.right) }
    var ticks: [Double] { stride(from: low, through: high + step / 2, by: step).map { $0 } }
  }

  static func f(_ v: Double, _ decimals: Int = 1) -> String { String(format: "%.\(decimals)f", v.isFinite ? v : 0) }

  /// A number with as many decimals as its size needs.
  static func number(_ v: Double) -> String {
    let a = abs(v)
    if a == 0 || a >= 100 { return String(format: "%.0f", v) }
    if a >= 10 { return String(format: "%.1f", v) }
    if a >= 1 { return String(format: "%.2f", v) }
    return String(format: "%.3f", v)
  }

  package static func escape(_ s: String) -> String { Markup.escape(s, unholdable: .showCode) }
}
