import ArgumentParser
import Foundation
import Machine
import Suites

extension Suite.Fresh: ExpressibleByArgument {}

/// How each test gets its machine: restored from a saved one (made by the first boot) or booted.
struct FreshMachineOptions: ParsableArguments {
  @Option(name: .long, help: "How fresh a machine each test gets, for every suite: per-test or per-suite (default: each suite's own choice; the boot suite always boots).")
  var fresh: Suite.Fresh?

  @Flag(name: .long, help: "Boot every machine instead of restoring a saved one.")
  var noSnapshots = false

  @Flag(name: .long, help: .hidden)
  var noSecureTimerFix = false

  @Option(name: .long, help: "How many machines run a suite's tests at once, longest tests first (default: one per 2 cores and 2 GiB of memory; the boot suite always boots one).")
  var jobs: Int?

  /// One machine per 2 host cores (each has 2 CPUs) and per 2 GiB of memory, at least one.
  static var hostJobs: Int {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let gib = Int(ProcessInfo.processInfo.physicalMemory >> 30)
    return max(1, min(cores / 2, gib / 2))
  }

  func validate() throws {
    if fresh == .coldBoot { throw ValidationError("--fresh takes per-test or per-suite (use --no-snapshots to boot every machine)") }
    if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs takes a count from 1 to 64 (got \(jobs))") }
  }

  func apply(to runner: inout SuiteRunner, cache: URL) {
    runner.snapshots = noSnapshots ? nil : SnapshotStore(cache: cache)
    runner.fresh = fresh
    runner.rearmSecureTimer = !noSecureTimerFix
    runner.jobs = jobs ?? Self.hostJobs
    runner.durations = TestDurations(cache: cache)
  }
}
