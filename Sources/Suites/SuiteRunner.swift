import Console
import Foundation
import GDBRemote
import HarnessSupport
import Images
import Machine
import Reporting

/// Runs suites on real machines: one booted machine per suite, replaced whenever a test spoils it (QEMU died,
/// a bad pattern, a shell that no longer answers); each test bounded by its deadline; every result carrying
/// the slices of both consoles that belong to it.
package struct SuiteRunner: Sendable {
  package var facts: StackFacts
  package var runDirectory: URL
  package var reporter: TerminalReporter
  /// Which tests to run (all by default).
  package var select: @Sendable (Suite, Test) -> Bool = { _, _ in true }
  /// From launch to a shell that answers.
  package var bootTimeout: Duration = .seconds(180)
  /// How many times each test runs (`--repeat`); its runs are reported as one result, flaky when they disagree.
  package var repeats = 1
  /// Stop at the first test that fails or errs (`--exitfirst`); the tests not run are reported skipped.
  package var exitFirst = false
  /// Run a test even when a link it needs was found broken by an earlier one (`--run-dependents`); by default it
  /// fails at once, naming the link and the test that found it. Repeated runs always run every test.
  package var runDependents = false
  /// Saved machines: restored instead of booted, and made by the first boot when missing (nil: every machine
  /// is booted).
  package var snapshots: SnapshotStore?
  /// Overrides every suite's own choice of how fresh a machine each test gets.
  package var fresh: Suite.Fresh?
  /// Arm the secure timer again after each restore, and prove it runs (off only to show what a restored machine
  /// without it does).
  package var rearmSecureTimer = true
  /// What the stack must show around every test (an invariant after each, a proof for a restored machine).
  package var checks: StackChecks
  /// How many machines run a suite's tests at once (`--jobs`); the boot suite always uses one.
  package var jobs = 1
  /// Each test's seconds in earlier runs (the longest are spread first), and where this run's are kept (nil: in
  /// the suite's order, nothing kept).
  package var durations: TestDurations?
  /// What the run learned once for all its machines: the host's pace, a saved machine that does not restore.
  let memory = RunMemory()

  /// Saved machines, when this stack can use them: a restored machine's secure timer is armed again from inside
  /// OP-TEE, which needs its symbols.
  var usableSnapshots: SnapshotStore? { facts.images.teeElf == nil ? nil : snapshots }

  package init(facts: StackFacts, runDirectory: URL, reporter: TerminalReporter, checks: StackChecks) {
    self.facts = facts
    self.runDirectory = runDirectory
    self.reporter = reporter
    self.checks = checks
  }

  package func run(_ suites: [Suite]) async -> RunResult {
    let started = ContinuousClock.now
    var results: [SuiteResult] = []
    let qemuVersion = (try? await Command.output([facts.images.qemu.path, "--version"]))?
      .split(separator: "\n").first.map(String.init) ?? "unknown"
    reporter.plan(suites.reduce(0) { total, suite in total + suite.tests.count { select(suite, $0) } } * repeats)
    let chosen = suites.filter { suite in suite.tests.contains(where: { select(suite, $0) }) }
    // With `--jobs`, the suites whose every test gets a machine of its own share one queue of tests (after the
    // others, each run alone as below): a machine that is free takes the longest test left, whatever its suite.
    let shared = jobs > 1 ? chosen.filter { freshness(of: $0) == .perTest && $0.unsupported(facts) == nil } : []
    var bySuite: [String: SuiteResult] = [:]
    for suite in chosen where !shared.contains(where: { $0.name == suite.name }) {
      if Task.isCancelled { break }
      if let reason = memory.stopReason {
        // Stopped early: the later suites' tests are in the reports, not run.
        let tests = suite.tests.filter { select(suite, $0) }.map {
          TestResult(suite: suite.name, name: $0.name, outcome: .skipped, message: reason, seconds: 0)
        }
        bySuite[suite.name] = SuiteResult(name: suite.name, properties: [:], tests: tests, seconds: 0)
        continue
      }
      bySuite[suite.name] = await run(suite, qemuVersion: qemuVersion)
    }
    if !shared.isEmpty && !Task.isCancelled {
      for result in await runSharing(shared, qemuVersion: qemuVersion) { bySuite[result.name] = result }
    }
    results = chosen.compactMap { bySuite[$0.name] }
    let run = RunResult(suites: results, seconds: (ContinuousClock.now - started).seconds, runDirectory: runDirectory.path)
    await durations?.record(run)
    return run
  }

  /// How fresh a machine each test of `suite` gets in this run: without saved machines a fresh machine is a boot,
  /// made per test only when asked for.
  func freshness(of suite: Suite) -> Suite.Fresh {
    suite.fresh == .coldBoot ? .coldBoot : (fresh ?? (usableSnapshots == nil ? .perSuite : suite.fresh))
  }

  /// What a suite's report says of the stack it ran on, and of how its machines were made.
  func properties(of suite: Suite, qemuVersion: String) async -> [String: String] {
    var properties = [
      "manifest": facts.manifest.name, "stack.digest": facts.images.digest, "qemu.version": qemuVersion,
    ]
    for (component, key) in facts.images.keys { properties["image.\(component)"] = key }
    properties.merge(await ComponentVersions.of(facts.manifest, locked: facts.images.packageVersions)) { a, _ in a }
    for spec in facts.manifest.orderedComponents where spec.tree != nil || !spec.prebuilt.isEmpty {
      properties["image.\(spec.name.rawValue).origin"] = spec.origin
    }
    properties["manifest.effective"] = facts.manifest.yaml
    for (name, how) in facts.learned { properties["fact.\(name)"] = "learned: \(how)" }
    if repeats > 1 { properties["repeat"] = "\(repeats)" }
    let fresh = freshness(of: suite)
    properties["fresh"] = fresh.rawValue
    if snapshots != nil && usableSnapshots == nil {
      properties["snapshots"] = "off: without tee.elf a restored machine's secure timer cannot be armed again"
    }
    if let failed = memory.restoreFailure, usableSnapshots != nil, fresh != .coldBoot {
      properties["restore.skipped"] = "the saved machine did not restore earlier in this run (\(failed)): every machine boots"
    }
    return properties
  }

  func run(_ suite: Suite, qemuVersion: String) async -> SuiteResult {
    let started = ContinuousClock.now
    reporter.suiteStarted(suite.name)
    var properties = await properties(of: suite, qemuVersion: qemuVersion)
    var results: [TestResult] = []
    let selected = suite.tests.filter { select(suite, $0) }
    if let reason = suite.unsupported(facts) {
      for test in selected {
        let r = TestResult(suite: suite.name, name: test.name, outcome: .skipped, message: "not supported by this stack: \(reason)", seconds: 0)
        reporter.testFinished(r)
        results.append(r)
      }
      return SuiteResult(name: suite.name, properties: properties, tests: results, seconds: 0)
    }
    let suiteDirectory = runDirectory.appendingPathComponent(suite.name, isDirectory: true)
    let snapshots = usableSnapshots
    let fresh = freshness(of: suite)
    // With `--jobs`, the tests spread over machines that run at once (the boot suite's machines always boot, one
    // at a time); each lane replaces its machine as one run alone would.
    let expected = jobs > 1 ? durations?.load() ?? [:] : [:]
    let lanes = Lanes.split(selected, jobs: fresh == .coldBoot ? 1 : jobs) { expected["\(suite.name)/\($0.name)"] }
    if lanes.count > 1 { properties["jobs"] = "\(lanes.count) machines at once: \(lanes.map { "\($0.count)" }.joined(separator: " + ")) tests" }
    let numbers = MachineNumbers()
    let done = await withTaskGroup(of: (Int, [TestResult], [String: String]).self) { group in
      for (index, lane) in lanes.enumerated() {
        group.addTask {
          let (results, properties) = await withMachinePool { pool in
            await self.lane(lane, of: suite, fresh: fresh, snapshots: snapshots, directory: suiteDirectory, numbers: numbers,
              qemuVersion: qemuVersion, pool: pool)
          }
          return (index, results, properties)
        }
      }
      var done: [(Int, [TestResult], [String: String])] = []
      for await lane in group { done.append(lane) }
      return done.sorted { $0.0 < $1.0 }
    }
    for (_, _, found) in done { properties.merge(found) { first, _ in first } }
    results += Lanes.merge(done.map(\.1), order: selected.map(\.name))
    return SuiteResult(name: suite.name, properties: properties, tests: results, seconds: (ContinuousClock.now - started).seconds)
  }

  /// Runs the tests of `suites` (each test on a machine of its own) from one queue, longest first, on `jobs`
  /// machines at once; gives each suite's results back in its own order, with what its machines showed.
  func runSharing(_ suites: [Suite], qemuVersion: String) async -> [SuiteResult] {
    struct Item: Sendable {
      var suite: Int
      var test: Test
    }
    struct Done: Sendable {
      var item: Item
      var machine: Int
      var results: [TestResult]
      var properties: [String: String]
      var started: ContinuousClock.Instant
      var ended: ContinuousClock.Instant
    }
    reporter.suiteStarted(suites.map(\.name).joined(separator: ", "))
    var headers: [[String: String]] = []
    for suite in suites { headers.append(await properties(of: suite, qemuVersion: qemuVersion)) }
    let items = suites.indices.flatMap { i in suites[i].tests.filter { select(suites[i], $0) }.map { Item(suite: i, test: $0) } }
    let expected = durations?.load() ?? [:]
    let queue = SharedQueue(items) { expected["\(suites[$0.suite].name)/\($0.test.name)"] }
    let directories = suites.map { runDirectory.appendingPathComponent($0.name, isDirectory: true) }
    let numbers = suites.map { _ in MachineNumbers() }
    let snapshots = usableSnapshots
    let machines = min(jobs, items.count)
    let done = await withTaskGroup(of: [Done].self) { group in
      for machine in 1...machines {
        group.addTask {
          await withMachinePool { pool in
            var done: [Done] = []
            // This machine's next test is taken from the queue as soon as the current test's body ends (the machine
            // is all but free then), so its machine is made while the current test's checks run.
            let reserved = Reserved<Item>()
            while !Task.isCancelled, let item = reserved.take() ?? queue.next() {
              let started = ContinuousClock.now
              let (results, properties) = await self.lane([item.test], of: suites[item.suite], fresh: .perTest, snapshots: snapshots,
                directory: directories[item.suite], numbers: numbers[item.suite], qemuVersion: qemuVersion, pool: pool,
                then: { reserved.hold(queue.next()).map { (directories[$0.suite], numbers[$0.suite]) } })
              done.append(Done(item: item, machine: machine, results: results, properties: properties, started: started, ended: .now))
            }
            return done
          }
        }
      }
      var all: [Done] = []
      for await some in group { all += some }
      return all
    }
    return suites.indices.map { i in
      let suite = suites[i]
      let mine = done.filter { $0.item.suite == i }
      var properties = headers[i]
      for found in mine.sorted(by: { $0.started < $1.started }).map(\.properties) { properties.merge(found) { first, _ in first } }
      let perMachine = Dictionary(grouping: mine, by: \.machine).sorted { $0.key < $1.key }.map { "\($0.value.count)" }
      properties["jobs"] = "\(machines) machines at once: \(perMachine.joined(separator: " + ")) tests (one queue with "
        + "\(suites.count == 1 ? "no other suite" : suites.filter { $0.name != suite.name }.map(\.name).joined(separator: ", ")))"
      let names = suite.tests.filter { select(suite, $0) }.map(\.name)
      // A test the queue never handed out (the run was cancelled) is in the report as not run.
      let ran = Set(mine.map(\.item.test.name))
      let notRun = names.filter { !ran.contains($0) }.map {
        [TestResult(suite: suite.name, name: $0, outcome: .skipped, message: memory.stopReason ?? "interrupted", seconds: 0)]
      }
      let results = Lanes.merge(mine.map(\.results) + notRun, order: names)
      let seconds = mine.isEmpty ? 0 : (mine.map(\.ended).max()! - mine.map(\.started).min()!).seconds
      return SuiteResult(name: suite.name, properties: properties, tests: results, seconds: seconds)
    }
  }

  /// Runs `tests` (each `repeats` times) on machines of their own, one after another, each replaced when a test
  /// spoils it or wants a fresh one; returns their results and what the machines showed (`properties`).
  /// With `pool`, a test that gets a restored machine of its own has the next one made while its checks run: for the
  /// lane's next test, or after the lane's last for what `then` says comes next (its suite's folder and machine
  /// numbers; asked once the last test's body ended).
  func lane(_ tests: [Test], of suite: Suite, fresh: Suite.Fresh, snapshots: SnapshotStore?, directory suiteDirectory: URL,
    numbers: MachineNumbers, qemuVersion: String, pool: MachinePool? = nil,
    then: @escaping @Sendable () -> (URL, MachineNumbers)? = { nil }) async -> ([TestResult], [String: String])
  {
    var properties: [String: String] = [:]
    var results: [TestResult] = []
    var pending = tests.flatMap { test in (1...repeats).map { (test: test, run: $0) } }
    var runs = RunsOfOneTest(repeats: repeats)
    var restoreFailure: String?
    /// Fails the pending tests at the front that need a link an earlier test found broken, without a machine;
    /// says whether it took any.
    func failDependents() -> Bool {
      var took = false
      while let (test, k) = pending.first, let finding = brokenNeed(of: test) {
        pending.removeFirst()
        var r = TestResult(suite: suite.name, name: test.name, outcome: .failed, message: BrokenLinks.message(finding), seconds: 0,
          notes: ["decided without a machine: run it anyway with --run-dependents"])
        r.verdictAt = (ContinuousClock.now - memory.started).seconds
        if let done = runs.add([r], last: k == repeats) {
          results.append(contentsOf: done)
          done.forEach(reporter.testFinished)
        }
        took = true
      }
      return took
    }
    while !pending.isEmpty && !Task.isCancelled && memory.stopReason == nil {
      if failDependents() { continue }
      var saved: URL?
      var ready = false
      do {
        var configuration: MachineConfiguration
        let prepared = fresh == .perTest && memory.restoreFailure == nil ? pool?.configuration(for: suiteDirectory.path) : nil
        if let prepared {
          configuration = prepared
          saved = prepared.incoming
        } else {
          configuration = try MachineConfiguration.make(images: facts.images, spec: facts.manifest.machine,
            runDirectory: suiteDirectory.appendingPathComponent("machine-\(numbers.next())", isDirectory: true))
          if fresh != .coldBoot && memory.restoreFailure == nil {
            saved = await snapshots?.verified(for: configuration, qemuVersion: qemuVersion) {
              properties["restore.damaged"] = $0
              Output.error("teeharness: \($0)")
            }
            configuration.incoming = saved
          }
        }
        if properties["qemu.argv"] == nil { properties["qemu.argv"] = configuration.argv.joined(separator: " ") }
        try await withMachine(configuration, from: pool) { machine in
          let timerProof = try await self.ready(machine, restoring: saved != nil, prepared: prepared != nil, qemuVersion: qemuVersion,
            properties: &properties)
          ready = true
          while let (test, k) = pending.first, !Task.isCancelled {
            if failDependents() { continue }
            pending.removeFirst()
            // The next test's machine (a restored one: it only loads, its CPUs held) is made while this one's checks
            // run, once its body ended: a loading QEMU never competes with what a test measures.
            let last = pending.isEmpty
            let restored = saved != nil
            let prepareNext: @Sendable () async -> Void = { [self] in
              let next = last ? then() : (suiteDirectory, numbers)
              guard let pool, restored, fresh == .perTest, let (directory, numbers) = next else { return }
              await self.prepare(in: directory, numbers: numbers, pool: pool, qemuVersion: qemuVersion)
            }
            reporter.testStarted(suite: suite.name, test: test.name, run: repeats > 1 ? (k, of: repeats) : nil)
            var (result, spoiled) = await run(test, of: suite, on: machine, directory: suiteDirectory, run: repeats > 1 ? k : nil,
              timerProof: timerProof, lastOnMachine: fresh == .perTest, whenBodyEnds: prepareNext)
            if let failure = restoreFailure, !result.isEmpty {
              result[0].notes.append("the saved machine did not restore (\(failure)): this one was booted, and so is every later machine of this run")
              restoreFailure = nil
            }
            if let done = runs.add(result, last: k == repeats) {
              results.append(contentsOf: done)
              done.forEach(reporter.testFinished)
              if exitFirst, let bad = done.first(where: { [.failed, .error, .flaky].contains($0.outcome) }) {
                memory.stopReason = "not run: --exitfirst after \(bad.suite)/\(bad.name) \(bad.outcome.rawValue)"
                break
              }
            }
            if spoiled || fresh == .perTest { break }
          }
        }
      } catch where saved != nil && !ready && !Task.isCancelled && !(error is CancellationError) {
        // A saved machine that does not come back (another QEMU, a damaged file): boot instead, and save anew.
        let (message, _) = TestVerdict.explain((error as? RestoreFailed)?.error ?? error)
        restoreFailure = message
        memory.restoreFailure = message
        properties["restore.failed"] = message
        if let saved { snapshots?.discard(saved) }
        continue
      } catch {
        // The machine could not be booted: every remaining test ends with the reason — a failure when the stack
        // is what failed (a panic, a milestone not reached), an error when QEMU, the host or the harness did.
        let (message, details) = TestVerdict.explain(error)
        let outcome: Outcome = TestVerdict.isInfrastructure(error) || Task.isCancelled ? .error : .failed
        for (test, k) in pending {
          var r = TestResult(suite: suite.name, name: test.name, outcome: outcome,
            message: outcome == .failed ? "the stack did not boot: \(message)" : "boot failed: \(message)",
            details: details, seconds: 0)
          r.verdictAt = (ContinuousClock.now - memory.started).seconds
          if let done = runs.add([r], last: k == repeats) {
            results.append(contentsOf: done)
            done.forEach(reporter.testFinished)
          }
        }
        pending = []
        if exitFirst { memory.stopReason = "not run: --exitfirst after \(suite.name) did not boot" }
      }
    }
    for (test, k) in pending {
      let r = TestResult(suite: suite.name, name: test.name, outcome: .skipped, message: memory.stopReason ?? "interrupted", seconds: 0)
      if let done = runs.add([r], last: k == repeats) { results.append(contentsOf: done) }
    }
    return (results, properties)
  }

  /// Launches the next restored machine of `directory` in `pool` (nothing when there is no saved machine to restore).
  func prepare(in directory: URL, numbers: MachineNumbers, pool: MachinePool, qemuVersion: String) async {
    guard memory.restoreFailure == nil, let snapshots = usableSnapshots,
      var configuration = try? MachineConfiguration.make(images: facts.images, spec: facts.manifest.machine,
        runDirectory: directory.appendingPathComponent("machine-\(numbers.next())", isDirectory: true))
    else { return }
    // Verified once per run (then only its size and time are compared); a damaged one is discarded and said here,
    // and the next machine boots and saves it anew.
    guard let saved = await snapshots.verified(for: configuration, qemuVersion: qemuVersion, damaged: { Output.error("teeharness: \($0)") }) else {
      try? FileManager.default.removeItem(at: configuration.socketDirectory)
      return
    }
    configuration.incoming = saved
    await pool.prepare(directory.path, configuration)
  }

  /// Brings a new machine to ready: a restored one runs, answers and has its secure timer armed again; a booted
  /// one reaches every milestone (and is saved when no saved machine exists yet). Returns, for a restored
  /// machine, the proof its secure timer must give after each test (nil when there is nothing to prove).
  /// A `prepared` machine was launched and loaded ahead: its time to ready counts from now.
  func ready(_ machine: Machine, restoring: Bool, prepared: Bool = false, qemuVersion: String, properties: inout [String: String])
    async throws -> RestoredProof?
  {
    if restoring {
      let began = ContinuousClock.now
      let times: RestoreTimes
      do {
        times = try await machine.awaitRestored(rearmSecureTimer: rearmSecureTimer, deadline: .after(.seconds(30)))
      } catch {
        throw RestoreFailed(error: error)
      }
      if prepared {
        properties["restore.ready.prepared"] = String(format: "%.2f s (launched and loaded while the test before ran)",
          (ContinuousClock.now - began).seconds)
      } else {
        properties["restore.ready"] = String(format: "%.2f s", times.ready)
      }
      try await measurePace(machine, properties: &properties)
      // Proven also when not armed again (`--no-secure-timer-fix`): the proof then shows what the fix is for.
      switch try await checks.restored(machine, facts) {
      case .success(let proof): return proof
      case .failure(let impossible):
        properties["restore.secure-timer"] = "\(rearmSecureTimer ? "armed again" : "not armed again"), not proven: \(impossible.reason)"
        return nil
      }
    }
    try await machine.awaitReady(deadline: .after(bootTimeout))
    try await measurePace(machine, properties: &properties)
    if properties["boot.shell ready"] == nil {
      for m in await machine.milestones { properties["boot.\(m.name)"] = m.reachedAt.map { String(format: "%.2f s", $0) } }
    }
    if let snapshots = usableSnapshots, snapshots.existing(for: machine.configuration, qemuVersion: qemuVersion) == nil {
      try await machine.awaitQuietConsoles(deadline: .after(.seconds(10)))
      let file = snapshots.file(for: machine.configuration, qemuVersion: qemuVersion)
      if let seconds = try await snapshots.saveOnce(file, { try await machine.saveSnapshot(to: file, deadline: .after(.seconds(60))) }) {
        properties["snapshot.saved"] = String(format: "%.2f s", seconds)
      }
    }
    return nil
  }

  /// The run's host pace, measured on its first ready machine (a later one only records it).
  func measurePace(_ machine: Machine, properties: inout [String: String]) async throws {
    let pace = try await memory.measureOnce { try await HostPace.measure(machine.shell, deadline: .after(.seconds(60))) }
    properties["host.pace"] = pace.description
  }

  /// Runs one test; returns its result(s) and whether the machine is spoiled for the next test.
  /// `run` numbers the runs of a repeated test (their console slices get files of their own).
  /// `whenBodyEnds` runs once the test's body has ended, before the checks that follow it.
  func run(_ test: Test, of suite: Suite, on machine: Machine, directory: URL, run: Int? = nil,
    timerProof: RestoredProof? = nil, lastOnMachine: Bool = false, whenBodyEnds: @Sendable () async -> Void = {}) async
    -> ([TestResult], Bool)
  {
    let from = machine.now()
    await machine.normal.allow(test.allowing)
    await machine.secure.allow(test.allowing)
    let pace = memory.pace ?? .reference
    let context = TestContext(machine: machine, facts: facts, deadline: .after(test.timeout), suite: suite.name, test: test.name,
      pace: pace)
    let started = ContinuousClock.now
    let starvation = await StarvationWatch.start(qemu: machine.pid, origin: machine.launchedAt)
    var thrown: (any Error)?
    do {
      try await withDeadline(context.deadline, "test \(suite.name)/\(test.name)") {
        try await machine.failingAtAlarm { try await test.body(context) }
      }
    } catch {
      thrown = error
    }
    let starved = await starvation.stop()
    // Read as the body ended: what runs after it (the next machine's making) must not turn a failure into a hang.
    let deadlinePassed = context.deadline.hasPassed
    let tails = thrown is DeadlineExceeded || thrown is SecureDeadEnd ? await machine.context() : nil
    await whenBodyEnds()
    var verdict = TestVerdict.of(thrown, timeout: test.timeout, deadlinePassed: deadlinePassed, context: tails)
    // A machine known unusable (the test said so, a CPU in a dead end, a panic or an oops on a console) is asked
    // nothing more: the next test gets another.
    let alarmed = !(await machine.alarms).isEmpty
    let knownSpoiled = (thrown as? TestFailure)?.spoilsMachine == true || verdict.spoilsMachine || alarmed
    if verdict.outcome == .failed, TestVerdict.isHang(thrown, deadlinePassed: deadlinePassed), machine.isRunning {
      verdict.add(hang: await checks.whereItHangs(machine))
    }
    let collected = context.collected
    verdict.add(checkFailures: collected.failures, notes: collected.notes)
    // The restored machine's secure timer is proven before the thread check, whose poke (a byte at the secure
    // console, for a machine about to go) runs a path under test: on a stack that dies of it, the timer is not blamed.
    if verdict.outcome == .passed, let timerProof, let finding = memory.broken(among: timerProof.needs) {
      verdict.notes.append("the restored machine's secure timer was not proven: the proof needs \(finding.link), which \(finding.foundBy) found broken")
    } else if verdict.outcome == .passed, let timerProof {
      let dead = await timerProof.check(machine)
      let tails = dead == nil ? "" : await machine.context()
      verdict.add(restoredProofFailure: dead, context: tails)
    }
    if verdict.outcome == .passed || (verdict.outcome == .failed && machine.isRunning && !knownSpoiled && !verdict.spoilsMachine) {
      let invariant = await threadInvariant(test, on: machine, poke: verdict.outcome == .passed && lastOnMachine)
      verdict.add(invariant: invariant)
    }
    let alarms = await machine.alarms
    if verdict.outcome == .passed, let first = alarms.first {
      let tails = await machine.context()
      verdict.add(alarm: first, context: tails)
    }
    // A failure that is a bad line: with what the stack adds to it (OP-TEE's call stack by function).
    if verdict.outcome == .failed, let (console, alarm) = (thrown as? BadPatternSeen).map({ ($0.console, $0.alarm) }) ?? alarms.first,
      verdict.message?.contains(alarm.line) == true, let said = await checks.explainAlarm(machine, console, alarm.line)
    {
      verdict.message = (verdict.message ?? "") + " — \(said)"
    }
    verdict.add(pace: pace)
    verdict.add(starvation: starved, judging: alarms.isEmpty)
    let (outcome, message, details, notes) = (verdict.outcome, verdict.message, verdict.details, verdict.notes)
    if outcome == .failed, let link = (thrown as? TestFailure)?.breaks {
      memory.record(link, foundBy: "\(suite.name)/\(test.name)", message: message ?? "")
    }
    await machine.normal.disallow(test.allowing)
    await machine.secure.disallow(test.allowing)

    let slices = [
      ConsoleSlice(console: "normal", lines: await machine.normal.slice(from: from).map(Transcript.format)),
      ConsoleSlice(console: "secure", lines: await machine.secure.slice(from: from).map(Transcript.format)),
    ]
    for slice in slices {
      let file = directory.appendingPathComponent(TestResult.transcriptName(test.name, console: slice.console, run: run))
      try? Data((slice.lines.joined(separator: "\n") + "\n").utf8).write(to: file)
    }
    var result = TestResult(suite: suite.name, name: test.name, outcome: outcome, message: message, details: details,
      seconds: (ContinuousClock.now - started).seconds, notes: notes, slices: slices)
    result.verdictAt = (ContinuousClock.now - memory.started).seconds
    result.measurements = collected.measurements.isEmpty ? nil : collected.measurements
    result.transcripts = directory.path
    // A machine with a leaked thread would fail every later test: the next one gets a fresh machine.
    let unusable = knownSpoiled ? true : await isSpoiled(machine, alarms: !alarms.isEmpty, outcome: outcome)
    // A body abandoned at its deadline may still run (it was cancelled, but need not listen): it keeps this
    // machine; the next test gets another.
    let abandoned = thrown is DeadlineExceeded && deadlinePassed
    let spoiled = verdict.spoilsMachine || unusable || abandoned
    if !alarms.isEmpty { await machine.clearAlarms() }
    return ([result] + collected.cases, spoiled)
  }

  /// The stack's invariant after `test` (unless the test is exempt from it).
  func threadInvariant(_ test: Test, on machine: Machine, poke: Bool = false) async -> StackChecks.Invariant {
    if let reason = test.leavesThreadsBusy { return .unavailable("exempt: \(reason)") }
    return await checks.afterTest(machine, poke)
  }

  /// What `test` needs that an earlier test found broken (nil when nothing, or when dependents run anyway).
  func brokenNeed(of test: Test) -> BrokenLinks.Finding? {
    guard !runDependents, repeats == 1 else { return nil }
    return memory.broken(among: test.needs(facts))
  }

  /// A machine is spoiled when QEMU is gone, a bad pattern fired, or the shell no longer answers.
  func isSpoiled(_ machine: Machine, alarms: Bool, outcome: Outcome) async -> Bool {
    if !machine.isRunning || alarms || Task.isCancelled { return true }
    if outcome == .passed || outcome == .skipped { return false }
    // After a failure the shell may be stuck in the test's command: interrupt it and see if it answers.
    try? await machine.shell.interrupt()
    let answer = try? await machine.shell.run("true", timeout: .seconds(10))
    return answer?.status != 0
  }
}

/// Collects the runs of a repeated test (with the cases each run reported) until its last run, then gives them
/// back as one result per name.
struct RunsOfOneTest {
  var repeats: Int
  var collected: [[TestResult]] = []

  /// Nil until `last`; then the combined results (the test's, then its cases').
  mutating func add(_ run: [TestResult], last: Bool) -> [TestResult]? {
    guard repeats > 1 else { return run }
    collected.append(run)
    guard last else { return nil }
    defer { collected = [] }
    var names: [String] = []
    var byName: [String: [TestResult]] = [:]
    for result in collected.joined() {
      if byName[result.name] == nil { names.append(result.name) }
      byName[result.name, default: []].append(result)
    }
    return names.map { RepeatedRuns.combine(byName[$0]!) }
  }
}

/// A restored machine that did not come up: the runner boots one instead.
struct RestoreFailed: Error {
  var error: any Error
}

/// What a run learns once and its machines share (the runner is a value).
final class RunMemory: @unchecked Sendable {
  /// The run's start, for each verdict's time from it.
  let started = ContinuousClock.now
  private let lock = NSLock()
  private var measured: HostPace?
  private var restoreFailed: String?
  private var stopped: String?
  private var links = BrokenLinks()

  var pace: HostPace? { lock.withLock { measured } }
  /// Why the run stops early (`--exitfirst` after a failure): the tests not yet run are skipped with it.
  var stopReason: String? {
    get { lock.withLock { stopped } }
    set { lock.withLock { stopped = stopped ?? newValue } }
  }
  /// Why the saved machine did not restore: later machines of the run boot instead of trying it again.
  var restoreFailure: String? {
    get { lock.withLock { restoreFailed } }
    set { lock.withLock { restoreFailed = restoreFailed ?? newValue } }
  }

  /// Records `link` as found broken (the first test to find it is kept).
  func record(_ link: StackLink, foundBy: String, message: String) {
    lock.withLock { links.record(link, foundBy: foundBy, message: message) }
  }

  /// The first of `needs` found broken so far.
  func broken(among needs: [StackLink]) -> BrokenLinks.Finding? { lock.withLock { links.first(of: needs) } }

  /// The pace measured by `measure` the first time; the same value afterwards.
  func measureOnce(_ measure: () async throws -> HostPace) async throws -> HostPace {
    if let pace { return pace }
    let pace = try await measure()
    lock.withLock { measured = measured ?? pace }
    return self.pace ?? pace
  }
}
