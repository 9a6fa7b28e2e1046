import Foundation
import HarnessSuites
import HarnessSupport
import Reporting
import Suites
import Testing

/// `report.html` of a real run, rendered by a real browser: headless Chromium loads the page, its own script
/// measures every plot's drawn box, and a screenshot is kept beside the report to look at.
extension Integration {
  @Suite struct ReportPageTests {
    static let window = (width: 1280, height: 2400)

    @Test func aRealRunsPageDrawsEveryPlotInAHeadlessBrowser() async throws {
      _ = try await SharedStack.shared.get()  // (installs chromium as root, with the other prerequisites)
      let chromium = try #require(try? Command.locate("chromium"), "no chromium on PATH: `teeharness setup --browser` installs it")
      let folder = SharedStack.runFolder("report-page")
      var runner = SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: folder, reporter: TerminalReporter(), checks: .optee)
      let wanted = ["4 × CFG_NUM_THREADS", "a byte typed at the secure console", "secure timer: OP-TEE's test watchdog"]
      runner.select = { suite, test in suite.name == "boot" || wanted.contains { test.name.hasPrefix($0) } }
      let result = await runner.run([bootSuite, threadExhaustionSuite, asyncNotificationsSuite, secureInterruptsSuite])
      #expect(result.allTests.allSatisfy { $0.outcome == .passed || $0.outcome == .skipped },
        "\(result.allTests.filter { $0.outcome != .passed && $0.outcome != .skipped }.map { "\($0.id): \($0.message ?? "")" })")
      let measured = result.allTests.flatMap { $0.measurements ?? [] }.map(\.name)
      for name in ["boot milestones", "calls in the secure world", "typed → top half", "top half → bottom half", "test_wd_callback's periods"] {
        #expect(measured.contains { $0.hasPrefix(name) }, "no measurement '\(name)' among \(measured)")
      }

      let page = folder.appendingPathComponent("report.html"), picture = folder.appendingPathComponent("report.png")
      let html = HTMLReport.html(result)
      try AtomicFile.write(Data(html.utf8), to: page)
      let profile = folder.appendingPathComponent("chromium-profile")
      defer { try? FileManager.default.removeItem(at: profile) }
      let common = [chromium.path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile.path)"]

      // The page's script leaves on the root element how many plots it found, how many drew nothing, any error.
      let dom = try await Command.run(common + ["--dump-dom", page.absoluteString], timeout: .seconds(90))
      let root = try #require(dom.output.range(of: "<html[^>]*>", options: .regularExpression).map { String(dom.output[$0]) },
        "chromium printed no page: \(dom.output.lastLines(10))")
      let attribute = { (name: String) -> String? in
        root.range(of: "\(name)=\"[^\"]*\"", options: .regularExpression).map { String(root[$0].dropFirst(name.count + 2).dropLast()) }
      }
      let plots = Int(attribute("data-plots") ?? "") ?? -1
      #expect(plots == html.components(separatedBy: "<svg class=\"plot\"").count - 1 && plots >= measured.count, "\(root)")
      #expect(attribute("data-empty") == "0", "plots that drew nothing: \(root)")
      #expect(attribute("data-error") == nil, "a script error: \(root)")

      let shot = try await Command.run(common + ["--screenshot=\(picture.path)", "--window-size=\(Self.window.width),\(Self.window.height)", page.absoluteString],
        timeout: .seconds(90))
      let png = try #require(FileManager.default.contents(atPath: picture.path), "no screenshot: \(shot.output.lastLines(10))")
      // A PNG whose header says the window's size.
      #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
      let be32 = { (at: Int) in png.count >= at + 4 ? png[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } : -1 }
      #expect(be32(16) == Self.window.width && be32(20) == Self.window.height)
      print("report.html of a real run: \(page.path); its screenshot: \(picture.path) (\(png.count) bytes)")
    }
  }
}
