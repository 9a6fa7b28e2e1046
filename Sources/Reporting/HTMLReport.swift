import Foundation

/// `report.html`: the run as one self-contained page (no network, no script or font from elsewhere) — the
/// summary, each test's outcome, message, notes and measurements drawn as plots, and both consoles' lines side by
/// side in the order of their timestamps. Pure: a run in, a page out.
package enum HTMLReport {
  /// Lines of each console shown per test; the whole slice is in the test's `.log` files beside the report.
  static let shownLines = 300

  package static func html(_ run: RunResult) -> String {
    var out = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>teeharness: \(escape(summaryLine(run)))</title>
      <style>\(style)</style>
      </head><body>
      <header><h1>teeharness</h1><p class="summary">\(escape(summaryLine(run)))</p>\(outcomeBar(run.allTests))
      <p class="where">\(escape(run.runDirectory))</p>
      """
    if let environment = run.environment, !environment.isEmpty { out += table(environment, caption: "where it ran") }
    out += """
      <label class="filter"><input type="checkbox" id="only-bad"> only what did not pass</label></header>
      <main>
      """
    for suite in run.suites { out += section(suite, runDirectory: run.runDirectory) }
    out += "</main><script>\(script)</script></body></html>\n"
    return out
  }

  /// A page of figures alone (what `bench` measured): the medians of each unit's figures side by side, then each
  /// figure of several samples on its own (every sample, the median dashed).
  package static func figures(_ figures: [Measured], title: String, about: [String: String]) -> String {
    var units: [String] = []
    for f in figures where !units.contains(f.unit) { units.append(f.unit) }
    let overviews = units.map { unit in
      let these = figures.filter { $0.unit == unit && $0.value != nil }
      var overview = Measured("every figure in \(unit): its median", unit: unit, samples: these.compactMap(\.value), labels: these.map(\.name))
      overview.value = nil  // (a median of different figures means nothing)
      return overview
    }
    return """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title><style>\(style)</style></head><body>
    <header><h1>\(escape(title))</h1>\(table(about, caption: nil))</header>
    <main><article class="test o-passed"><label class="filter" hidden><input type="checkbox" id="only-bad"></label>
    \((overviews + figures.filter { $0.samples.count > 1 }).map(figure).joined(separator: "\n"))
    </article></main><script>\(script)</script></body></html>

    """
  }

  static func summaryLine(_ run: RunResult) -> String {
    let counts = [Outcome.passed, .failed, .error, .flaky, .skipped].compactMap { o in
      run.count(o) > 0 ? "\(run.count(o)) \(o.rawValue)" : nil
    }
    return "\(run.allTests.count) tests: \(counts.joined(separator: ", ")) in \(SVGPlot.number(run.seconds)) s"
  }

  /// The outcomes as one bar, a segment per test in order.
  static func outcomeBar(_ tests: [TestResult]) -> String {
    guard !tests.isEmpty else { return "" }
    let cells = tests.map { #"<span class="cell o-\#($0.outcome.rawValue)" title="\#(escape($0.id)): \#($0.outcome.rawValue)"></span>"# }
    return #"<div class="outcomes">\#(cells.joined())</div>"#
  }

  static func section(_ suite: SuiteResult, runDirectory: String) -> String {
    let counts = [Outcome.passed, .failed, .error, .flaky, .skipped].compactMap { o in
      suite.count(o) > 0 ? "\(suite.count(o)) \(o.rawValue)" : nil
    }
    var out = #"<section class="suite"><h2>\#(escape(suite.name))</h2><p>\#(escape(counts.joined(separator: ", "))) in \#(SVGPlot.number(suite.seconds)) s</p>"#
    if !suite.properties.isEmpty {
      out += "<details><summary>what it ran on (\(suite.properties.count) properties)</summary>\(table(suite.properties, caption: nil))</details>"
    }
    if let timeline = testTimeline(suite) { out += figure(timeline) }
    for test in suite.tests { out += article(test, run: runDirectory) }
    return out + "</section>"
  }

  /// When each test ran (from its verdict's time and its duration), for suites of up to 60 tests.
  static func testTimeline(_ suite: SuiteResult) -> Measured? {
    let timed = suite.tests.compactMap { t in t.verdictAt.map { (t.name, $0 - t.seconds, $0) } }
    guard timed.count >= 2, timed.count <= 60 else { return nil }
    let origin = timed.map(\.1).min() ?? 0
    return Measured("when each test ran (seconds into the suite)", unit: "s",
      spans: timed.map { Measured.Span(lane: $0.0, start: $0.1 - origin, end: $0.2 - origin) })
  }

  static func article(_ test: TestResult, run: String) -> String {
    let o = test.outcome.rawValue
    var out = #"<article class="test o-\#(o)" id="\#(escape(anchor(test.id)))"><h3><span class="badge o-\#(o)">\#(o)</span> \#(escape(test.name)) <span class="secs">\#(SVGPlot.number(test.seconds)) s</span></h3>"#
    if let runs = test.runs { out += "<p class=\"runs\">runs: \(escape(runs.map(\.rawValue).joined(separator: " ")))</p>" }
    if let message = test.message { out += "<p class=\"message\">\(escape(message))</p>" }
    if let details = test.details, !details.isEmpty { out += "<pre class=\"details\">\(escape(details))</pre>" }
    if !test.notes.isEmpty { out += "<ul class=\"notes\">" + test.notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>" }
    for m in test.measurements ?? [] { out += figure(m) }
    out += consoles(test, run: run)
    return out + "</article>"
  }

  static func figure(_ m: Measured) -> String {
    let svg = SVGPlot.svg(m)
    guard !svg.isEmpty else { return "" }
    var caption = escape(m.name)
    if let value = m.value { caption += " — median \(SVGPlot.number(value)) \(escape(m.unit)) of \(m.samples.count)" }
    if let bound = m.bound { caption += ", bound \(SVGPlot.number(bound)) \(escape(m.unit))" }
    return "<figure><figcaption>\(caption)</figcaption>\(svg)</figure>"
  }

  /// Both consoles' lines in one table ordered by their timestamps: time | normal world | secure world.
  static func consoles(_ test: TestResult, run: String) -> String {
    let normal = test.slices.first { $0.console == "normal" }?.lines ?? []
    let secure = test.slices.first { $0.console == "secure" }?.lines ?? []
    guard !normal.isEmpty || !secure.isEmpty else { return "" }
    let rows = merged(normal: Array(normal.suffix(shownLines)), secure: Array(secure.suffix(shownLines)))
    let open = test.outcome == .passed || test.outcome == .skipped ? "" : " open"
    let cut = normal.count > shownLines || secure.count > shownLines ? " (the last \(shownLines) of each)" : ""
    // The whole transcripts, by a path relative to the page when they are in its run folder.
    let files = test.transcripts.map { folder -> String in
      let relative = folder.hasPrefix(run + "/") ? String(folder.dropFirst(run.count + 1)) : "file://" + folder
      let link = { (console: String) in
        let path = "\(relative)/\(TestResult.transcriptName(test.name, console: console))"
        return "<a href=\"\(escape(path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path))\">\(console)</a>"
      }
      return test.runs == nil ? " — whole: \(link("normal")), \(link("secure"))" : ""
    } ?? ""
    var out = "<details class=\"consoles\"\(open)><summary>consoles: \(normal.count) normal-world lines, \(secure.count) secure-world lines\(cut)\(files)</summary>"
    out += "<table class=\"console\"><thead><tr><th>time (s)</th><th>normal world</th><th>secure world</th></tr></thead><tbody>"
    for row in rows {
      let time = row.time.map { String(format: "%.3f", $0) } ?? ""
      out += row.secure
        ? "<tr><td class=\"t\">\(time)</td><td></td><td class=\"s\">\(escape(row.text))</td></tr>"
        : "<tr><td class=\"t\">\(time)</td><td class=\"n\">\(escape(row.text))</td><td></td></tr>"
    }
    return out + "</tbody></table></details>"
  }

  struct Row: Equatable {
    var time: Double?
    var text: String
    var secure: Bool
    /// Where a line without a timestamp sorts: with the last stamped line before it on its console.
    var orderKey: Double? = nil
    var sortKey: Double? { time ?? orderKey }
  }

  /// The two consoles' lines merged by timestamp (`[   1.234] text`); a line without one keeps its place after
  /// the line before it on its console. Stable: at equal times the normal world's line comes first.
  static func merged(normal: [String], secure: [String]) -> [Row] {
    func rows(_ lines: [String], secure: Bool) -> [Row] {
      var last: Double?
      return lines.map { line in
        if let (time, text) = stamped(line) {
          last = time
          return Row(time: time, text: text, secure: secure)
        }
        return Row(time: nil, text: line, secure: secure, orderKey: last)
      }
    }
    let a = rows(normal, secure: false), b = rows(secure, secure: true)
    var out: [Row] = []
    var i = 0, j = 0
    while i < a.count || j < b.count {
      if j >= b.count || (i < a.count && (a[i].sortKey ?? -.infinity) <= (b[j].sortKey ?? -.infinity)) {
        out.append(a[i]); i += 1
      } else {
        out.append(b[j]); j += 1
      }
    }
    return out.map { var r = $0; r.orderKey = nil; return r }
  }

  /// `[   1.234] text` → (1.234, "text").
  static func stamped(_ line: String) -> (Double, String)? {
    guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
      let time = Double(line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces))
    else { return nil }
    var rest = line[line.index(after: close)...]
    if rest.hasPrefix(" ") { rest = rest.dropFirst() }
    return (time, String(rest))
  }

  static func table(_ pairs: [String: String], caption: String?) -> String {
    var out = "<table class=\"props\">" + (caption.map { "<caption>\(escape($0))</caption>" } ?? "")
    for (key, value) in pairs.sorted(by: { $0.key < $1.key }) {
      out += "<tr><th>\(escape(key))</th><td>\(escape(value))</td></tr>"
    }
    return out + "</table>"
  }

  static func anchor(_ id: String) -> String { String(id.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }) }

  static func escape(_ s: String) -> String { Markup.escape(s, unholdable: .showCode) }

  static let style = """
    body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
    header{padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
    h1{font-size:20px;margin:0}h2{font-size:17px;margin:18px 0 4px}h3{font-size:14px;margin:0 0 6px}
    main{padding:0 20px 40px}.where{color:#666;font-size:12px;margin:2px 0}
    .outcomes{display:flex;height:10px;margin:6px 0;max-width:900px}.cell{flex:1;margin-right:1px}
    .o-passed{background:#2e7d32}.o-failed{background:#c62828}.o-error{background:#ef6c00}.o-flaky{background:#f9a825}.o-skipped{background:#9e9e9e}
    article.test{background:#fff;border:1px solid #e0e0e0;border-left-width:5px;margin:8px 0;padding:8px 12px}
    article.o-passed{border-left-color:#2e7d32}article.o-failed{border-left-color:#c62828}article.o-error{border-left-color:#ef6c00}
    article.o-flaky{border-left-color:#f9a825}article.o-skipped{border-left-color:#9e9e9e}
    .badge{color:#fff;padding:1px 6px;border-radius:3px;font-size:12px;font-weight:600}.secs{color:#666;font-weight:400}
    .message{font-weight:600;color:#8e0000;margin:4px 0}article.o-skipped .message{color:#555;font-weight:400}.details{background:#f4f4f4;padding:6px;overflow:auto;max-height:260px;font-size:12px}
    .notes{margin:4px 0;padding-left:20px;color:#333}.notes li{margin:1px 0}
    figure{margin:6px 0}figcaption{font-size:12px;color:#333;margin-bottom:2px}
    .plot .label,.plot .unit,.plot .value{font-size:10px;fill:#444}.plot .axis{stroke:#888}
    .plot .bar,.plot .span{fill:#5c7cfa}.plot .dot{fill:#5c7cfa;fill-opacity:.8}
    .plot .median{stroke:#333;stroke-dasharray:4 3}.plot .bound{stroke:#c62828;stroke-width:1.5}
    table.props{border-collapse:collapse;font-size:12px;margin:4px 0}table.props th{text-align:left;padding:1px 8px 1px 0;color:#555;vertical-align:top}
    table.props td{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}table.props caption{text-align:left;color:#555}
    table.console{border-collapse:collapse;font:11px/1.3 ui-monospace,monospace;width:100%;table-layout:fixed}
    table.console th{text-align:left;background:#eee;position:sticky;top:0}table.console th:first-child{width:70px}
    table.console td{vertical-align:top;white-space:pre-wrap;word-break:break-all;padding:0 6px}
    table.console td.t{color:#888}table.console td.n{background:#f1f8ff}table.console td.s{background:#fff7e6}
    details.consoles{margin-top:6px}details.consoles>table{display:block;max-height:420px;overflow:auto}
    body.only-bad article.o-passed,body.only-bad article.o-skipped{display:none}
    body.focus article.test:not(:target),body.focus section.suite:not(:has(:target)){display:none}
    """

  /// Filtering (a link to `report.html#<test's id>` shows that test alone), and a check that the page drew: the root element says how many plots it has and how many drew
  /// nothing (a headless browser reads it back), and any script error.
  static let script = """
    window.addEventListener('error',e=>{document.documentElement.dataset.error=String(e.message)});
    (function(){const plots=[...document.querySelectorAll('svg.plot')];let empty=0;
    for(const p of plots){const b=p.getBBox();if(!(b.width>0&&b.height>0)||p.childElementCount<2)empty++}
    document.documentElement.dataset.plots=plots.length;document.documentElement.dataset.empty=empty;})();
    document.getElementById('only-bad').addEventListener('change',e=>document.body.classList.toggle('only-bad',e.target.checked));
    function focus(){let t=null;try{t=location.hash.length>1&&document.getElementById(decodeURIComponent(location.hash.slice(1)))}catch(e){}
    document.body.classList.toggle('focus',!!(t&&t.matches('article.test')));if(t)window.scrollTo(0,0)}
    window.addEventListener('hashchange',focus);window.addEventListener('load',focus);focus();
    """
}
