import Foundation
import HarnessSuites
import HarnessSupport
import Images
import Machine
import Reporting
import Suites

/// Every suite of the catalog (xtest-full only when asked: it alone takes half an hour) run whole with one machine
/// and with `jobs` machines at once, in the same bench: wall time, the host's CPUs' use, the CPU of the harness
/// against that of its children (the QEMUs, mostly), and whether any test's outcome changed with the machines.
enum BenchCatalog {
  /// - Throws: `HarnessError` when a test's outcome differs between the two runs: their times would not compare.
  static func run(_ images: StackImages, _ manifest: StackManifest, cache: URL, jobs: Int, xtestFull: Bool, into runFolder: URL,
    figures: inout Figures) async throws
  {
    let suites = Catalog.all.filter { xtestFull || $0.name != "xtest-full" }
    let facts = try StackFacts(images: images, manifest: manifest)
    var outcomes: [Int: [String: Outcome]] = [:]
    for n in Array(Set([1, jobs])).sorted() {
      let folder = runFolder.appendingPathComponent("catalog-jobs-\(n)")
      var runner = SuiteRunner(facts: facts, runDirectory: folder, reporter: TerminalReporter(), checks: .optee)
      runner.snapshots = SnapshotStore(cache: cache)
      runner.jobs = n
      runner.durations = TestDurations(cache: cache)
      Output.line("every suite of the catalog (\(suites.map(\.name).joined(separator: ", "))), --jobs \(n):")
      let use = Usage.now()
      let result = await runner.run(suites)
      let spent = Usage.now() - use
      let name = "catalog, --jobs \(n)"
      figures.add("\(name): wall seconds", result.seconds)
      figures.add("\(name): host CPUs busy (%)", spent.hostBusyPercent)
      figures.add("\(name): harness CPU seconds", spent.harness)
      figures.add("\(name): children's CPU seconds (QEMU)", spent.children)
      figures.add("\(name): harness CPU / children's (%)", spent.children > 0 ? 100 * spent.harness / spent.children : .nan)
      outcomes[n] = Dictionary(result.allTests.map { ($0.id, $0.outcome) }, uniquingKeysWith: { first, _ in first })
      Output.line("  \(result.allTests.count { $0.outcome == .passed }) passed, \(result.allTests.count { $0.outcome == .failed }) failed, \(result.allTests.count { $0.outcome == .error }) errors, \(result.allTests.count { $0.outcome == .skipped }) skipped; see \(folder.path)")
    }
    figures.ratio("catalog: --jobs \(jobs) / --jobs 1 (wall)", "catalog, --jobs \(jobs): wall seconds", "catalog, --jobs 1: wall seconds")
    if jobs > 1, let one = outcomes[1], let many = outcomes[jobs] {
      let changed = Set(one.keys).union(many.keys).sorted().filter { one[$0] != many[$0] }
      guard changed.isEmpty else {
        throw HarnessError("\(changed.count) test(s) ended differently with --jobs \(jobs) than with one machine: "
          + changed.prefix(5).map { "\($0): \(one[$0]?.rawValue ?? "not run") vs \(many[$0]?.rawValue ?? "not run")" }.joined(separator: "; "),
          fix: "see \(runFolder.path); a test that changes with the machines around it is a flake to mend before the times mean anything")
      }
      Output.line("every test ended the same with --jobs 1 and --jobs \(jobs) (\(one.count) tests)")
    }
  }
}

/// CPU time spent, and the host's CPUs' busy share, between two readings.
struct Usage {
  var harness: Double
  var children: Double
  var hostBusy: Double
  var hostTotal: Double
  var hostBusyPercent: Double { hostTotal > 0 ? 100 * hostBusy / hostTotal : .nan }

  /// This process's CPU, its reaped children's (every QEMU ends before its test's result), and `/proc/stat`'s
  /// all-CPU line (busy = everything but idle and iowait).
  static func now() -> Usage {
    var usage = rusage(), reaped = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    getrusage(RUSAGE_CHILDREN.rawValue, &reaped)
    func seconds(_ u: rusage) -> Double {
      Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
    let (busy, total) = HostCPU.ticks() ?? (0, 0)
    return Usage(harness: seconds(usage), children: seconds(reaped), hostBusy: busy, hostTotal: total)
  }

  static func - (a: Usage, b: Usage) -> Usage {
    Usage(harness: a.harness - b.harness, children: a.children - b.children, hostBusy: a.hostBusy - b.hostBusy, hostTotal: a.hostTotal - b.hostTotal)
  }
}
