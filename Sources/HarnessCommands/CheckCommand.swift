import ArgumentParser
import Foundation
import Guest
import HarnessSuites
import HarnessSupport
import Images
import Reporting
import Suites

struct CheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "The main job: set up the host, build the stack, boot it, run suites, report.",
    discussion: "Exit status: 0 all passed, 1 a test failed, 2 infrastructure error, 64 usage, 130/143 interrupted.")

  @OptionGroup var stack: StackOptions

  @Option(name: .customLong("suite"), help: "A suite to run (repeatable; default: \(Catalog.defaultSuites.joined(separator: ", ")), or on a stack of the fault catalog the suites its fault names).")
  var suites: [String] = []

  @Option(name: .long, help: "Only tests whose name (or suite/name) contains this text (repeatable: any of them).")
  var test: [String] = []

  @Option(name: .long, help: "Leave out tests whose name (or suite/name) contains this text (repeatable).")
  var skip: [String] = []

  @Option(name: .long, help: "Run each test N times; a test that both passed and failed is reported flaky.")
  var `repeat`: Int = 1

  @Option(name: .long, help: "Run only shard I of N (a stable split of the tests across CI jobs; combine with `report merge`).")
  var shard: String?

  @Flag(name: [.customShort("x"), .long], help: "Stop at the first test that fails or errs; the rest are reported as not run.")
  var exitfirst = false

  @Flag(name: .customLong("run-dependents"), help: "Run every test to its own verdict, even one that needs a link of the stack an earlier test found broken (by default it fails at once, naming the link).")
  var runDependents = false

  @Flag(name: .long, help: "Print the tests this selection would run (suite/test, one a line) and exit: nothing is built or booted.")
  var list = false

  @Flag(name: .customLong("last-failed"), help: "Only the tests that failed, erred or were flaky in the newest report beside the run folder (all when none did).")
  var lastFailed = false

  @OptionGroup var machines: FreshMachineOptions

  @OptionGroup var reports: ReportOptions

  func validate() throws {
    guard `repeat` >= 1 else { throw ValidationError("--repeat takes a count of 1 or more") }
    if let shard, Shard(shard) == nil { throw ValidationError("--shard takes I/N with 1 ≤ I ≤ N, e.g. 1/2 (got '\(shard)')") }
  }

  func run() async throws {
    var named = try suites.map(Self.suite)
    var check = self
    if lastFailed, let failed = try LastFailed.tests(besides: reports.out) {
      check.only = failed
      // Unless suites were named, the suites of the tests that failed.
      if named.isEmpty { named = Catalog.all.filter { suite in suite.tests.contains { failed.contains("\(suite.name)/\($0.name)") } } }
    }
    try await check.run(named)
  }

  /// Exact `suite/test` names to run (from `--last-failed`), on top of the other selections.
  var only: Set<String>?

  func run(_ named: [Suite]) async throws {
    if list {
      // What would run: the manifest says which suites a fault's stack runs; nothing else is needed.
      let layout = try ProjectLayout.find()
      let manifest = try ManifestLoader.load(layout.manifest(stack.manifest), overrides: try stack.overrides.value.tree())
      let selected = named.isEmpty ? try (manifest.fault?.suites ?? Catalog.defaultSuites).map(Self.suite) : named
      let select = selection
      for suite in selected { for t in suite.tests where select(suite, t) { Output.line("\(suite.name)/\(t.name)") } }
      return
    }
    let runDirectory = try RunFolder.make(reports.out)
    let host = try HostSetup.forStack(stack.manifest, overrides: stack.overrides.value)
    if getuid() == 0 {
      let installed = try await host.ensure { Output.line($0) }
      if !installed.isEmpty { Output.line("setup: installed \(installed.joined(separator: " "))") }
    } else {
      try host.requireInstalled()
    }
    let (images, manifest, _) = try await Stack.prepare(manifest: stack.manifest, overrides: stack.overrides.value, cache: stack.cache) { Output.line("images: \($0)") }
    try manifest.writeEffective(into: runDirectory)
    // A stack of the fault catalog runs, unless told otherwise, the suites that must catch its fault.
    let selected = named.isEmpty ? try (manifest.fault?.suites ?? Catalog.defaultSuites).map(Self.suite) : named
    let facts = await StackDiscovery.learnOrSay(try StackFacts(images: images, manifest: manifest), runDirectory: runDirectory)
    var runner = SuiteRunner(facts: facts, runDirectory: runDirectory, reporter: TerminalReporter(), checks: .optee)
    runner.select = selection
    runner.repeats = `repeat`
    runner.exitFirst = exitfirst
    runner.runDependents = runDependents
    machines.apply(to: &runner, cache: stack.cache)
    try await reports.run(selected, with: runner)
  }

  /// The tests `--test`, `--skip` and `--shard` select: a name (or suite/name) containing any `--test` text and
  /// none of the `--skip` texts, in the shard.
  var selection: @Sendable (Suite, Test) -> Bool {
    let shard = self.shard.flatMap(Shard.init)
    let test = self.test, skip = self.skip, only = self.only
    return { suite, t in
      let names = [t.name, "\(suite.name)/\(t.name)"]
      return (only?.contains(names[1]) ?? true)
        && (test.isEmpty || test.contains { text in names.contains { $0.contains(text) } })
        && !skip.contains { text in names.contains { $0.contains(text) } }
        && (shard?.contains(suite: suite.name, test: t.name) ?? true)
    }
  }

  static func suite(_ name: String) throws -> Suite {
    guard let suite = Catalog.suite(named: name) else {
      throw HarnessError("unknown suite '\(name)' (known: \(Catalog.all.map(\.name).joined(separator: ", ")))",
        fix: "see `swift run teeharness list`")
    }
    return suite
  }
}

/// `--last-failed`: the tests the newest earlier run did not pass.
enum LastFailed {
  /// `suite/test` of every test that failed, erred or was flaky in the newest `report.json` among the run folders
  /// beside `out` (in `teeharness-out/` without it); nil, said on the terminal, when there is none or all passed.
  static func tests(besides out: String?) throws -> Set<String>? {
    let parent = out.map { URL(fileURLWithPath: $0).standardizedFileURL.deletingLastPathComponent() }
      ?? URL(fileURLWithPath: "teeharness-out", isDirectory: true)
    let fm = FileManager.default
    let reports = ((try? fm.contentsOfDirectory(atPath: parent.path)) ?? [])
      .map { parent.appendingPathComponent($0).appendingPathComponent("report.json") }
      .compactMap { url -> (URL, Date)? in
        (try? fm.attributesOfItem(atPath: url.path)[.modificationDate] as? Date).map { (url, $0) }
      }
    guard let newest = reports.max(by: { $0.1 < $1.1 })?.0 else {
      Output.line("last-failed: no earlier report under \(parent.path): running every selected test")
      return nil
    }
    let run: RunResult
    do {
      run = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: newest))
    } catch {
      throw HarnessError("--last-failed: \(newest.path) is not a report (\(error.localizedDescription))",
        fix: "remove it, or pass --out in a folder whose runs have reports")
    }
    let failed = Set(run.allTests.filter { [.failed, .error, .flaky].contains($0.outcome) }.map { "\($0.suite)/\($0.name)" })
    guard !failed.isEmpty else {
      Output.line("last-failed: every test of \(newest.deletingLastPathComponent().path) passed: running every selected test")
      return nil
    }
    Output.line("last-failed: \(failed.count) test(s) that did not pass in \(newest.deletingLastPathComponent().path)")
    return failed
  }
}

enum RunFolder {
  /// The time now as a folder name: `yyyyMMdd-HHmmss`.
  static func stamp() -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    return formatter.string(from: Date())
  }

  /// `path`, or a new `teeharness-out/<yyyyMMdd-HHmmss>` in the current folder — `-2`, `-3`, … appended when
  /// another run started in the same second (the folder is made atomically: two runs never share one).
  static func make(_ path: String?) throws -> URL {
    if let path { return try create(URL(fileURLWithPath: path, isDirectory: true)) }
    let parent = try create(URL(fileURLWithPath: "teeharness-out", isDirectory: true))
    let stamp = stamp()
    for n in 1...1000 {
      let url = parent.appendingPathComponent(n == 1 ? stamp : "\(stamp)-\(n)", isDirectory: true)
      if mkdir(url.path, 0o755) == 0 { return url.standardizedFileURL }
      guard errno == EEXIST else { break }
    }
    throw HarnessError("cannot create a run folder under \(parent.path): \(String(cString: strerror(errno)))", fix: "pass a writable --out")
  }

  private static func create(_ url: URL) throws -> URL {
    do {
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
      throw HarnessError("cannot create the run folder \(url.path): \(error.localizedDescription)", fix: "pass a writable --out")
    }
    return url.standardizedFileURL
  }
}

/// Where a run's reports go; shared by every command that runs tests or writes reports.
struct ReportOptions: ParsableArguments {
  @Option(name: .long, help: "Also write the JUnit XML report here.")
  var junit: String?

  @Option(name: .long, help: "Also write the JSON report here.")
  var json: String?

  @Option(name: .long, help: "Run folder for transcripts and reports (default: teeharness-out/<time>).")
  var out: String?

  /// Runs `suites` (SIGINT and SIGTERM end them in order), writes the reports, prints the summary and ends the
  /// command with the run's exit code.
  func run(_ suites: [Suite], with runner: SuiteRunner) async throws -> Never {
    let (result, signal) = try await Interruption.run { await runner.run(suites) }
    try finish(result)
    if let signal { throw HarnessExitRequest(signal == SIGINT ? .interruptedByINT : .interruptedByTERM) }
    throw HarnessExitRequest(HarnessExit(rawValue: result.exitCode) ?? .infrastructure)
  }

  /// Writes the reports and prints the summary.
  func finish(_ result: RunResult) throws {
    try Reports.write(result, junit: junit, json: json)
    TerminalReporter().summary(result)
  }
}

enum Reports {
  /// What a report says of where it was made.
  static var environment: [String: String] {
    var system = utsname()
    uname(&system)
    let field = { (value: Any) in
      withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
    return [
      "harness": HarnessVersion.description,
      "host.kernel": "\(field(system.sysname)) \(field(system.release)) \(field(system.machine))",
      "host.cpus": "\(ProcessInfo.processInfo.activeProcessorCount)",
      "host.memory": memory.map { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " ") } ?? "unknown",
    ]
  }

  /// Writes `report.json`, `junit.xml` and `report.html` into the run folder, and copies where the user asked.
  static func write(_ result: RunResult, junit: String?, json: String?) throws {
    var result = result
    result.environment = (result.environment ?? [:]).merging(environment) { a, _ in a }
    let folder = URL(fileURLWithPath: result.runDirectory)
    let xml = Data(JUnitWriter.xml(result).utf8)
    let data = try JSONReportWriter.data(result)
    try AtomicFile.write(xml, to: folder.appendingPathComponent("junit.xml"))
    try AtomicFile.write(data, to: folder.appendingPathComponent("report.json"))
    try AtomicFile.write(Data(HTMLReport.html(result).utf8), to: folder.appendingPathComponent("report.html"))
    if let junit { try AtomicFile.write(xml, to: URL(fileURLWithPath: junit)) }
    if let json { try AtomicFile.write(data, to: URL(fileURLWithPath: json)) }
  }
}
