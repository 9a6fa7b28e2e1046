import Foundation
import Guest
import HarnessSuites
import Reporting
import Repro
import Suites
import Testing

extension Integration {
  @Suite struct ReportsTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    func runner(_ label: String) async throws -> SuiteRunner {
      SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder(label), reporter: TerminalReporter(), checks: .optee)
    }

    @Test func theShippedReproScriptsPassAndABrokenOneSaysWhichStepFailedAndWhy() async throws {
      let folder = Self.repo.appendingPathComponent("repro")
      let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
      let scripts = try files.map(ReproScript.load)
      #expect(scripts.count == 3)
      let broken = try ReproScript.parse("""
        name: a condition that never holds
        timeout: 30
        steps:
          - shell: echo ready
            expect: ready
          - wait: "[ -e /tmp/never-made ]"
            timeout: 2
        """, file: "broken.yaml")
      let suite = Suite("repro") { scripts.map(\.test) + [broken.test] }
      let result = try await runner("repro").run([suite])
      for script in scripts {
        let r = result.allTests.first { $0.name == script.name }
        #expect(r?.outcome == .passed, "\(script.name): \(r?.message ?? "not run") \(r?.details ?? "")")
      }
      let failed = result.allTests.first { $0.name == broken.name }
      #expect(failed?.outcome == .failed)
      #expect(failed?.message?.hasPrefix("step 2 (broken.yaml:6:5): `[ -e /tmp/never-made ]` did not become true within 2.0 s") == true,
        "\(failed?.message ?? "")")
    }

    @Test func twoShardsMergedEqualTheUnshardedRunTestByTest() async throws {
      let suites = [bootSuite, gdbSuite]
      let whole = try await runner("unsharded").run(suites)
      var shards: [RunResult] = []
      for i in 1...2 {
        var r = try await runner("shard-\(i)")
        let shard = Shard("\(i)/2")!
        r.select = { suite, test in shard.contains(suite: suite.name, test: test.name) }
        shards.append(await r.run(suites))
      }
      #expect(shards.allSatisfy { !$0.allTests.isEmpty && $0.allTests.count < whole.allTests.count })
      let merged = try ReportMerge.merge(shards, runDirectory: "/tmp/merged") { Catalog.rank(suite: $0, test: $1) }
      #expect(merged.allTests.map(\.id) == whole.allTests.map(\.id))
      #expect(merged.allTests.map(\.outcome) == whole.allTests.map(\.outcome))
      #expect(merged.exitCode == whole.exitCode)
      #expect(merged.suites.map { $0.properties["stack.digest"] } == whole.suites.map { $0.properties["stack.digest"] })
    }
  }
}
