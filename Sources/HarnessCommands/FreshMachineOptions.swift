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

  func validate() throws {
    if fresh == .coldBoot { throw ValidationError("--fresh takes per-test or per-suite (use --no-snapshots to boot every machine)") }
  }

  func apply(to runner: inout SuiteRunner, cache: URL) {
    runner.snapshots = noSnapshots ? nil : SnapshotStore(cache: cache)
    runner.fresh = fresh
    runner.rearmSecureTimer = !noSecureTimerFix
  }
}
