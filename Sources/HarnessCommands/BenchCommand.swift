import ArgumentParser
import Foundation
import HarnessSupport
import Images
import Machine
import Reporting

struct BenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure image builds, cold boots (launch → each milestone, CPU of harness vs QEMU, with and without the GDB stub), the secure-world probe, saving a machine, restoring it, xtest 1001 on a booted vs a restored machine, and the default suites with a restored machine per test, per suite, and a booted machine per suite; or (--catalog) every suite with one machine and with several at once.")

  @OptionGroup var stack: StackOptions

  @Option(name: .customLong("repeat"), help: "How many boots.")
  var rounds: Int = 5

  @Option(name: .long, help: "Write the figures as JSON here.")
  var json: String?

  @Flag(name: .long, help: "Also time a cold image build, into an empty cache folder of its own (downloads everything again).")
  var coldBuild = false

  @Option(name: .long, help: "How many times to run the default suites in each way of getting a machine (0: not at all).")
  var suiteRuns: Int = 1

  @Option(name: .long, help: ArgumentHelp("Measure only the edit loop of a local tree (first build, one .c file touched, edit → first verdict) on a copy of it.", valueName: "COMPONENT=PATH"))
  var tree: String?

  @Flag(name: .long, help: "Measure only every suite of the catalog, run whole with --jobs 1 and with --jobs N: wall time, the host's CPUs' use, harness CPU against QEMU's, and whether any outcome changed.")
  var catalog = false

  @Option(name: .long, help: "With --catalog: how many machines at once for the second run (default: from the host's cores and memory, at least 2).")
  var jobs: Int?

  @Flag(name: .long, help: "With --catalog: include xtest-full (about half an hour with one machine).")
  var xtestFull = false

  func validate() throws {
    if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs takes a count from 1 to 64 (got \(jobs))") }
    if (jobs != nil || xtestFull) && !catalog { throw ValidationError("--jobs and --xtest-full go with --catalog") }
  }

  func run() async throws {
    try HostSetup.forStack(stack.manifest, overrides: stack.overrides.value).requireInstalled()
    let runFolder = try RunFolder.make(nil)
    var figures = Figures()
    if catalog {
      let (images, manifest, _) = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: stack.cache)
      try await BenchCatalog.run(images, manifest, cache: stack.cache, jobs: jobs ?? max(2, FreshMachineOptions.hostJobs), xtestFull: xtestFull,
        into: runFolder, figures: &figures)
      try figures.finish(into: runFolder, json: json, manifest: manifest.name, digest: images.digest)
      return
    }
    if let tree {
      try await BenchEditLoop.run(tree, stack: stack, rounds: rounds, into: runFolder, figures: &figures)
      try figures.finish(into: runFolder, json: json, manifest: stack.manifest, digest: "")
      return
    }

    if coldBuild {
      let empty = runFolder.appendingPathComponent("cold-cache", isDirectory: true)
      let started = ContinuousClock.now
      _ = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: empty)
      figures.add("image build (cold, empty cache)", (ContinuousClock.now - started).seconds)
      try? FileManager.default.removeItem(at: empty)
    }
    let buildStart = ContinuousClock.now
    let (images, manifest, _) = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: stack.cache)
    figures.add("image build (warm)", (ContinuousClock.now - buildStart).seconds)

    // Boots alternate with and without the GDB stub, so both see the same machine load.
    for round in 1...max(rounds, 1) {
      for stub in [MachineConfiguration.GDBStub.harness, .none] {
        let ready = try await boot(images, manifest, round: round, stub: stub, into: runFolder, figures: &figures)
        if stub == .none { figures.add("boot without GDB stub: launch → shell ready", ready) }
      }
    }
    // A machine saved once per round, then restored (secure timer armed again) and used.
    let saved = runFolder.appendingPathComponent("bench.vmstate")
    for round in 1...max(rounds, 1) {
      var configuration = try MachineConfiguration.make(images: images, spec: manifest.machine,
        runDirectory: runFolder.appendingPathComponent("save-\(round)"))
      let (readyAt, xtest) = try await withMachine(configuration) { machine in
        try await machine.awaitReady(deadline: .after(.seconds(180)))
        let readyAt = machine.now()
        if round == 1 {
          try await machine.awaitQuietConsoles(deadline: .after(.seconds(10)))
          figures.add("snapshot: save", try await machine.saveSnapshot(to: saved, deadline: .after(.seconds(60))))
        }
        return (readyAt, try await xtest1001(machine))
      }
      figures.add("xtest 1001 on a booted machine: launch → done", readyAt + xtest)
      figures.add("xtest 1001 itself, booted machine", xtest)
      configuration = try MachineConfiguration.make(images: images, spec: manifest.machine,
        runDirectory: runFolder.appendingPathComponent("restore-\(round)"))
      configuration.incoming = saved
      var used = ContinuousClock.now
      let (times, restoredXTest) = try await withMachine(configuration) { machine in
        let result = (try await machine.awaitRestored(rearmSecureTimer: true, deadline: .after(.seconds(30))), try await xtest1001(machine))
        used = .now
        return result
      }
      figures.add("restored machine: shut down", (ContinuousClock.now - used).seconds)
      figures.add("restore: launch → running", times.running)
      figures.add("restore: launch → secure timer armed", times.timerArmed)
      figures.add("restore: launch → ready (shell answers)", times.ready)
      figures.add("xtest 1001 on a restored machine: launch → done", times.ready + restoredXTest)
    }
    for round in stride(from: 1, through: suiteRuns, by: 1) {
      try await BenchSuites.run(images, manifest, cache: stack.cache, into: runFolder, round: round, figures: &figures)
    }
    figures.ratio("restore ready / boot shell ready", "restore: launch → ready (shell answers)", "boot: launch → shell ready")
    figures.ratio("xtest 1001 restored / booted", "xtest 1001 on a restored machine: launch → done", "xtest 1001 on a booted machine: launch → done")
    figures.ratio("default suites: per-test restored / per-suite booted", "default suites: a restored machine per test",
      "default suites: a booted machine per suite")
    try figures.finish(into: runFolder, json: json, manifest: manifest.name, digest: images.digest)
  }

  /// One cold boot to the shell; with the stub attached, also times the thread-table probe ten times.
  /// Returns when the shell was ready (seconds after launch).
  func boot(_ images: StackImages, _ manifest: StackManifest, round: Int, stub: MachineConfiguration.GDBStub,
    into runFolder: URL, figures: inout Figures) async throws -> Double
  {
    var configuration = try MachineConfiguration.make(images: images, spec: manifest.machine,
      runDirectory: runFolder.appendingPathComponent("boot-\(round)-stub-\(stub.rawValue)"))
    configuration.gdbStub = stub
    let harnessBefore = CPUTime.ofThisProcess()
    let launched = ContinuousClock.now
    let (milestones, qemuCPU, probes) = try await withMachine(configuration) { machine in
      try await machine.awaitReady(deadline: .after(.seconds(180)))
      let qemuCPU = CPUTime.ofProcess(machine.pid)
      var probes: [Double] = []
      if let probe = machine.secureWorld {
        for _ in 1...10 {
          let started = ContinuousClock.now
          _ = try await probe.threadTable()
          probes.append((ContinuousClock.now - started).seconds)
        }
      }
      return (await machine.milestones, qemuCPU, probes)
    }
    guard stub == .harness else { return milestones.last?.reachedAt ?? .nan }
    for p in probes { figures.add("probe: stop in secure world + thread table + continue", p) }
    let wall = (ContinuousClock.now - launched).seconds
    let harnessCPU = CPUTime.ofThisProcess() - harnessBefore
    for m in milestones { if let t = m.reachedAt { figures.add("boot: launch → \(m.name)", t) } }
    figures.add("boot: launch → shut down", wall)
    figures.add("boot: QEMU CPU seconds", qemuCPU ?? .nan)
    figures.add("boot: harness CPU seconds", harnessCPU)
    Output.line("boot \(round): shell ready at \((milestones.last?.reachedAt ?? .nan).formatted(decimals: 2)) s, QEMU CPU \((qemuCPU ?? .nan).formatted(decimals: 2)) s, harness CPU \(harnessCPU.formatted(decimals: 2)) s")
    return milestones.last?.reachedAt ?? .nan
  }
}

/// Runs xtest 1001 and returns its seconds.
func xtest1001(_ machine: Machine) async throws -> Double {
  let started = ContinuousClock.now
  let result = try await machine.shell.run("xtest 1001 > /tmp/xtest-bench.log 2>&1", timeout: .seconds(120))
  guard result.status == 0 else { throw HarnessError("xtest 1001 failed on the bench machine (status \(result.status))") }
  return (ContinuousClock.now - started).seconds
}

/// Named series of measurements, reported as median, min and max.
struct Figures {
  private(set) var order: [String] = []
  private(set) var samples: [String: [Double]] = [:]
  private(set) var ratios: Set<String> = []

  mutating func add(_ name: String, _ value: Double) {
    if samples[name] == nil { order.append(name) }
    samples[name, default: []].append(value)
  }

  /// Adds the ratio of two series' medians as a figure of its own.
  mutating func ratio(_ name: String, _ numerator: String, _ denominator: String) {
    guard let n = samples[numerator].flatMap(median), let d = samples[denominator].flatMap(median), d > 0 else { return }
    add(name, n / d)
    ratios.insert(name)
  }

  func print() {
    Output.line("")
    // As wide as the longest name: a figure's name is never cut.
    let width = max(40, order.map(\.count).max() ?? 0)
    Output.line("figure".padding(toLength: width + 4, withPad: " ", startingAt: 0) + "median      min      max   n")
    for name in order {
      let v = samples[name]!
      let row = name.padding(toLength: width, withPad: " ", startingAt: 0)
        + String(format: "%10.3f %8.3f %8.3f %3d", median(v) ?? .nan, v.min() ?? .nan, v.max() ?? .nan, v.count)
      Output.line(row)
    }
  }

  /// Prints the table, draws `bench.html` in the run folder and writes the JSON where asked.
  func finish(into runFolder: URL, json: String?, manifest: String, digest: String) throws {
    print()
    if let json { try write(to: URL(fileURLWithPath: json), manifest: manifest, digest: digest) }
    let page = try draw(into: runFolder, manifest: manifest, digest: digest)
    Output.line("\nfigures drawn: \(page.path)")
  }

  /// Each figure as a measurement: "(%)" figures in percent, ratios as such, the others in seconds.
  func measurements(ratios: Set<String>) -> [Measured] {
    order.map { name in
      Measured(name, unit: name.hasSuffix("(%)") ? "%" : ratios.contains(name) ? "×" : "s", samples: samples[name]!,
        labels: samples[name]!.indices.map { "sample \($0 + 1)" })
    }
  }

  /// `bench.html` in the run folder: a plot per figure.
  func draw(into runFolder: URL, manifest: String, digest: String) throws -> URL {
    let page = runFolder.appendingPathComponent("bench.html")
    let about = ["manifest": manifest, "stack": digest, "harness": HarnessVersion.description]
    try AtomicFile.write(Data(HTMLReport.figures(measurements(ratios: ratios), title: "teeharness bench", about: about).utf8), to: page)
    return page
  }

  func write(to url: URL, manifest: String, digest: String) throws {
    var rows: [[String: Any]] = []
    for name in order {
      let v = samples[name]!
      rows.append(["name": name, "median": median(v) ?? 0, "min": v.min() ?? 0, "max": v.max() ?? 0, "samples": v])
    }
    let object: [String: Any] = ["manifest": manifest, "stack": digest, "figures": rows]
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
  }
}

/// CPU time (user + system) in seconds.
enum CPUTime {
  static func ofThisProcess() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
  }

  /// From `/proc/<pid>/stat` (fields 14 and 15, in clock ticks).
  static func ofProcess(_ pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
  }
}
