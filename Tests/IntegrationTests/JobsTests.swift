import Foundation
import HarnessSupport
import Reporting
import Testing

extension Integration {
  /// `--jobs 2`: the same tests, the same outcomes, in the same order as one machine at a time, from two machines
  /// that ran at once; with either, the next machine is made while a test runs, and none outlives the run.
  @Suite struct JobsTests {
    struct Run {
      var report: RunResult
      var properties: [String: String]
      /// The machine folders of the xtest suite, each with the transcripts of what it ran.
      var machines: [String]
    }

    func check(jobs: Int) async throws -> Run {
      _ = try await SharedStack.shared.get()
      let out = SharedStack.runFolder("jobs-\(jobs)")
      defer { try? FileManager.default.removeItem(at: out) }
      let run = try await Command.run([SignalTests.executable.path, "check", "--suite", "xtest", "--jobs", "\(jobs)", "--out", out.path])
      #expect(run.status == 0, "\(run.output.lastLines(15))")
      #expect(qemuProcesses(mentioning: out.path).isEmpty, "a QEMU of the run (a machine made ahead) outlived it")
      let report = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: out.appendingPathComponent("report.json")))
      let folder = out.appendingPathComponent("xtest")
      let machines = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasPrefix("machine-") }
      return Run(report: report, properties: report.suites.first?.properties ?? [:], machines: machines)
    }

    @Test func twoMachinesAtOnceReportWhatOneReports() async throws {
      let one = try await check(jobs: 1)
      let two = try await check(jobs: 2)
      #expect(two.properties["jobs"]?.hasPrefix("2 machines at once: ") == true, "\(two.properties["jobs"] ?? "no jobs property")")
      let outcomes = { (run: RunResult) in run.allTests.map { "\($0.id): \($0.outcome.rawValue)" } }
      #expect(outcomes(two.report) == outcomes(one.report))
      #expect(outcomes(two.report).count >= 4)
      // Each of the 4 tests ran on a machine of its own, each later one made while a test ran: none made for nothing.
      for run in [one, two] {
        #expect(run.properties["restore.ready.prepared"] != nil, "no machine was made ahead: \(run.properties.keys.sorted())")
        #expect(run.machines.count == 4, "machine folders: \(run.machines.sorted())")
      }
    }
  }
}
