import Foundation
import HarnessSupport
import Reporting
import Testing

extension Integration {
  /// `--jobs 2`: the same tests, the same outcomes, in the same order as one machine at a time, from two machines
  /// that ran at once.
  @Suite struct JobsTests {
    func check(jobs: Int) async throws -> (RunResult, [String: String]) {
      _ = try await SharedStack.shared.get()
      let out = SharedStack.runFolder("jobs-\(jobs)")
      defer { try? FileManager.default.removeItem(at: out) }
      let run = try await Command.run([SignalTests.executable.path, "check", "--suite", "xtest", "--jobs", "\(jobs)", "--out", out.path])
      #expect(run.status == 0, "\(run.output.lastLines(15))")
      let report = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: out.appendingPathComponent("report.json")))
      return (report, report.suites.first?.properties ?? [:])
    }

    @Test func twoMachinesAtOnceReportWhatOneReports() async throws {
      let (one, _) = try await check(jobs: 1)
      let (two, properties) = try await check(jobs: 2)
      #expect(properties["jobs"]?.hasPrefix("2 machines at once: ") == true, "\(properties["jobs"] ?? "no jobs property")")
      let outcomes = { (run: RunResult) in run.allTests.map { "\($0.id): \($0.outcome.rawValue)" } }
      #expect(outcomes(two) == outcomes(one))
      #expect(outcomes(two).count >= 4)
    }
  }
}
