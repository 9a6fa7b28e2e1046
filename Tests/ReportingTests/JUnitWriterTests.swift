import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif
import Testing

@testable import Reporting

@Suite struct JUnitWriterTests {
  static let run = RunResult(
    suites: [
      SuiteResult(name: "boot", properties: ["manifest": "default", "qemu.argv": "qemu -a \"b\""], tests: [
        TestResult(suite: "boot", name: "ok", outcome: .passed, seconds: 1.5, notes: ["took 1 s"],
          slices: [ConsoleSlice(console: "normal", lines: ["[ 1.0] hello <world> \u{1B}[6n"]),
                   ConsoleSlice(console: "secure", lines: ["[ 1.0] I/TC: & more"])]),
        TestResult(suite: "boot", name: "bad", outcome: .failed, message: "no \"x\" within 3 s", details: "tail", seconds: 3),
        TestResult(suite: "boot", name: "broken", outcome: .error, message: "QEMU exited", seconds: 0),
        TestResult(suite: "boot", name: "n/a", outcome: .skipped, message: "not supported", seconds: 0),
      ], seconds: 4.5)
    ], seconds: 5, runDirectory: "/tmp/x")

  @Test func isWellFormedXMLWithEveryOutcome() throws {
    var run = Self.run
    run.suites[0].tests[0].transcripts = "/tmp/x/boot"
    let xml = JUnitWriter.xml(run)
    let document = try XMLDocument(xmlString: xml)
    let suite = try document.nodes(forXPath: "/testsuites/testsuite").first as? XMLElement
    #expect(suite?.attribute(forName: "tests")?.stringValue == "4")
    #expect(suite?.attribute(forName: "failures")?.stringValue == "1")
    #expect(suite?.attribute(forName: "errors")?.stringValue == "1")
    #expect(suite?.attribute(forName: "skipped")?.stringValue == "1")
    #expect(try document.nodes(forXPath: "//testcase[@name='bad']/failure").count == 1)
    #expect(try document.nodes(forXPath: "//testcase[@name='broken']/error").count == 1)
    #expect(try document.nodes(forXPath: "//testcase[@name='n/a']/skipped").count == 1)
    let out = try document.nodes(forXPath: "//testcase[@name='ok']/system-out").first?.stringValue ?? ""
    #expect(out.contains("hello <world> [6n"), "the ESC byte is gone, the rest kept")
    #expect(out.hasSuffix("[[ATTACHMENT|/tmp/x/boot/ok.normal.log]]\n[[ATTACHMENT|/tmp/x/boot/ok.secure.log]]"),
      "the whole transcripts attached: \(out.suffix(120))")
    #expect(try document.nodes(forXPath: "//testcase[@name='ok']/system-err").first?.stringValue?.contains("& more") == true)
    #expect(try document.nodes(forXPath: "//property[@name='qemu.argv']/@value").first?.stringValue == "qemu -a \"b\"")
  }

  /// Where the run ran is in every testsuite's properties, and the JSON says its format's version.
  @Test func theEnvironmentIsInEverySuiteAndTheJSONHasItsSchemaVersion() throws {
    var run = Self.run
    run.environment = ["harness": "teeharness 0.9.0 (git abc)", "host.cpus": "2"]
    let document = try XMLDocument(xmlString: JUnitWriter.xml(run))
    let harness = try document.nodes(forXPath: "/testsuites/testsuite/properties/property[@name='environment.harness']").first as? XMLElement
    #expect(harness?.attribute(forName: "value")?.stringValue == "teeharness 0.9.0 (git abc)")
    let json = try JSONSerialization.jsonObject(with: JSONReportWriter.data(run)) as? [String: Any]
    #expect(json?["schemaVersion"] as? Int == RunResult.currentSchema)
    #expect((json?["environment"] as? [String: String])?["host.cpus"] == "2")
    // An older report without them still reads.
    let old = try JSONDecoder().decode(RunResult.self, from: Data(#"{"suites":[],"seconds":1,"runDirectory":"/x"}"#.utf8))
    #expect(old.schemaVersion == nil && old.environment == nil)
  }

  @Test func exitCodesFollowTheWorstOutcome() {
    #expect(Self.run.exitCode == 2)
    var failedOnly = Self.run
    failedOnly.suites[0].tests.removeAll { $0.outcome == .error }
    #expect(failedOnly.exitCode == 1)
    failedOnly.suites[0].tests.removeAll { $0.outcome == .failed }
    #expect(failedOnly.exitCode == 0)
  }
}
