import Foundation
import Testing

@testable import Reporting

/// `report.html` and its plots, from a report made here.
@Suite struct HTMLReportTests {
  static func run(measurements: [Measured]) -> RunResult {
    var passed = TestResult(suite: "async", name: "chain", outcome: .passed, seconds: 2, notes: ["12 bytes"],
      slices: [ConsoleSlice(console: "normal", lines: ["[   1.000] </td><script>alert(1)</script>", "[   2.000] b"]),
               ConsoleSlice(console: "secure", lines: ["[   1.500] x", "continued", "[   3.000] y"])])
    passed.measurements = measurements
    passed.verdictAt = 3
    var failed = TestResult(suite: "async", name: "broken <one>", outcome: .failed, message: "no bottom half & no line", seconds: 1)
    failed.verdictAt = 4
    return RunResult(suites: [SuiteResult(name: "async", properties: ["manifest": "default"], tests: [passed, failed], seconds: 3)],
      seconds: 3, runDirectory: "/tmp/run")
  }

  @Test func theMedianIsTheValueAndLabelsMatchTheSamples() {
    #expect(Measured("m", unit: "s", samples: [3, 1, 2]).value == 2)
    #expect(Measured("m", unit: "s", samples: [4, 1, 2, 3]).value == 2.5)
    #expect(Measured("m", unit: "s", samples: []).value == nil)
    #expect(Measured("m", unit: "s", samples: [1, 2], labels: ["a"]).labels == ["a", ""])
    let spans = Measured("w", unit: "s", spans: [.init(lane: "call 0", start: 0, end: 0.5), .init(lane: "call 1", start: 0.5, end: 1.5)])
    #expect(spans.samples == [0.5, 1.0])
  }

  @Test func measurementsRoundTripAndAnOlderReportHasNone() throws {
    let run = Self.run(measurements: [Measured("typed → top half", unit: "s", samples: [0.01, 0.02], labels: ["A", "B"], bound: 0.5)])
    let back = try JSONDecoder().decode(RunResult.self, from: try JSONReportWriter.data(run))
    #expect(back.allTests[0].measurements == run.allTests[0].measurements)
    var object = try JSONSerialization.jsonObject(with: try JSONReportWriter.data(run)) as! [String: Any]
    var suites = object["suites"] as! [[String: Any]]
    var tests = suites[0]["tests"] as! [[String: Any]]
    tests[0].removeValue(forKey: "measurements")
    suites[0]["tests"] = tests
    object["suites"] = suites
    let older = try JSONDecoder().decode(RunResult.self, from: try JSONSerialization.data(withJSONObject: object))
    #expect(older.allTests[0].measurements == nil)
  }

  /// Console text is text: nothing the guest printed becomes markup.
  @Test func whatTheConsolesPrintedIsEscaped() {
    let html = HTMLReport.html(Self.run(measurements: []))
    #expect(!html.contains("<script>alert"))
    #expect(html.contains("&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;"))
    #expect(html.contains("broken &lt;one&gt;") && html.contains("no bottom half &amp; no line"))
    #expect(html.components(separatedBy: "<script>").count == 2, "the page's own script only")
    #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url("), "nothing loaded from elsewhere")
  }

  @Test func bothConsolesAreMergedByTheirTimestamps() {
    let rows = HTMLReport.merged(normal: ["[   1.000] a", "[   2.000] b"], secure: ["[   1.500] x", "continued", "[   3.000] y"])
    #expect(rows.map(\.text) == ["a", "x", "continued", "b", "y"])
    #expect(rows.map(\.secure) == [false, true, true, false, true])
    #expect(rows.map(\.time) == [1.0, 1.5, nil, 2.0, 3.0])
  }

  @Test func eachKindOfMeasurementIsDrawnItsOwnWay() {
    let spans = SVGPlot.svg(Measured("waves", unit: "s", spans: (0..<4).map { .init(lane: "call \($0)", start: Double($0 / 2), end: Double($0 / 2) + 1) }))
    #expect(spans.components(separatedBy: "class=\"span\"").count - 1 == 4)
    let bars = SVGPlot.svg(Measured("bytes", unit: "s", samples: [0.01, 0.3, 0.02], labels: ["A", "B", "C"], bound: 0.5))
    #expect(bars.components(separatedBy: "class=\"bar\"").count - 1 == 3)
    #expect(bars.contains("class=\"bound\"") && bars.contains("class=\"median\""))
    let many = SVGPlot.svg(Measured("periods", unit: "s", samples: (0..<30).map { 1 + Double($0 % 5) / 100 }))
    #expect(many.contains("class=\"bar\"") && !many.contains("class=\"dot\""), "a histogram")
    let few = SVGPlot.svg(Measured("kills", unit: "s", samples: [0.4, 0.5, 0.45]))
    #expect(few.components(separatedBy: "class=\"dot\"").count - 1 == 3)
    #expect(SVGPlot.svg(Measured("none", unit: "s", samples: [])).isEmpty)
    #expect(SVGPlot.svg(Measured("nan", unit: "s", samples: [.nan, .infinity])).isEmpty)
    // What is not finite is left out, never drawn to an endless axis.
    #expect(SVGPlot.svg(Measured("unbounded", unit: "s", samples: [0.1, 0.2], labels: ["a", "b"], bound: .infinity)).contains("class=\"bar\""))
    let odd = SVGPlot.svg(Measured("odd", unit: "s", spans: [.init(lane: "a", start: .nan, end: 1), .init(lane: "b", start: 3, end: 2)]))
    #expect(odd.components(separatedBy: "class=\"span\"").count - 1 == 1 && !odd.contains("nan"))
    #expect(SVGPlot.Scale(low: 0, high: .infinity).high == 1)
  }

  @Test func theAxisEndsOnARoundNumberAboveTheLargestSample() {
    let scale = SVGPlot.Scale(low: 0, high: 0.37)
    #expect(scale.high >= 0.37 && scale.high <= 0.5)
    #expect(scale.ticks.first == 0 && scale.ticks.last == scale.high)
    let flat = SVGPlot.Scale(low: 0, high: 0)
    #expect(flat.high > flat.low)
  }

  @Test func thePageHasTheSummaryAPlotPerMeasurementAndTheTestsTimeline() {
    let html = HTMLReport.html(Self.run(measurements: [
      Measured("typed → top half", unit: "s", samples: [0.01, 0.02], labels: ["A", "B"]),
      Measured("waves", unit: "s", spans: [.init(lane: "call 0", start: 0, end: 1)]),
    ]))
    #expect(html.contains("2 tests: 1 passed, 1 failed in 3.00 s"))
    // Two measurements and the suite's timeline of its tests.
    #expect(html.components(separatedBy: "<svg class=\"plot\"").count - 1 == 3)
    #expect(html.contains("<details class=\"consoles\"><summary>consoles: 2 normal-world lines, 3 secure-world lines"))
  }
}
