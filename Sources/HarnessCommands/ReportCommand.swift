import ArgumentParser
import Foundation
import HarnessSuites
import HarnessSupport
import Images
import Reporting
import Suites

struct ReportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "report", abstract: "Work with run reports.",
    subcommands: [MergeReports.self, HTMLReportCommand.self, FlakeReports.self, FaultReports.self])
}

/// `teeharness report merge`: the JSON reports of a sharded run (`check --shard I/N`) combined into the reports
/// one unsharded run would have written, in the catalog's order; exits as that run would have.
struct MergeReports: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "merge",
    abstract: "Combine the report.json files of shards into one report.json and junit.xml.")

  @Argument(help: "The shards' report.json files (or their run folders).")
  var shards: [String]

  @OptionGroup var reports: ReportOptions

  func run() async throws {
    let loaded = try shards.map(Self.load)
    let path = reports.out ?? "teeharness-out/merged-\(RunFolder.stamp())"
    var merged: RunResult
    do {
      merged = try ReportMerge.merge(loaded, runDirectory: path, rank: { Catalog.rank(suite: $0, test: $1) })
    } catch {
      throw HarnessError("cannot merge: \(error.message)", fix: "give each shard's report once, from shards of one run")
    }
    merged.runDirectory = try RunFolder.make(path).path  // only once there is something to write
    try reports.finish(merged)
    throw HarnessExitRequest(HarnessExit(rawValue: merged.exitCode) ?? .infrastructure)
  }

  static func load(_ path: String) throws -> RunResult {
    var url = URL(fileURLWithPath: path)
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
      url.appendPathComponent("report.json")
    }
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError("no report at \(url.path)", fix: "pass the report.json of each shard (or its run folder)")
    }
    do {
      return try JSONDecoder().decode(RunResult.self, from: data)
    } catch {
      throw HarnessError("\(url.path) is not a teeharness report: \(error)", fix: "pass the report.json a `check` run wrote")
    }
  }
}

/// `teeharness report html RUN`: the page of a run's `report.json` (an older run's, a merged one's) written again
/// as `report.html` beside it, or where `--to` says.
struct HTMLReportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "html",
    abstract: "Write report.html for a report.json (or run folder).")

  @Argument(help: "A report.json (or its run folder).")
  var report: String

  @Option(name: .long, help: "Where to write the page (default: report.html beside the report).")
  var to: String?

  func run() async throws {
    let run = try MergeReports.load(report)
    var source = URL(fileURLWithPath: report)
    if source.pathExtension == "json" { source.deleteLastPathComponent() }
    let target = to.map { URL(fileURLWithPath: $0) } ?? source.appendingPathComponent("report.html")
    try AtomicFile.write(Data(HTMLReport.html(run).utf8), to: target)
    Output.line("report: \(target.path)")
  }
}

/// `teeharness report flakes quiet=RUN busy=RUN …`: the repeated runs of `ci/flake` as one table of runs,
/// failures, errors and time per test and condition.
struct FlakeReports: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "flakes",
    abstract: "Tabulate repeated runs (check --repeat) per test and condition, as Markdown.")

  @Argument(help: ArgumentHelp("A condition and its report.json (or run folder); repeatable.", valueName: "CONDITION=REPORT"))
  var reports: [String]

  func run() async throws {
    let loaded = try reports.map { pair -> (condition: String, run: RunResult) in
      guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
        throw HarnessError("'\(pair)' is not CONDITION=REPORT", fix: "name each report's condition, e.g. quiet/default=teeharness-out/flake-1")
      }
      return (String(pair[..<equals]), try MergeReports.load(String(pair[pair.index(after: equals)...])))
    }
    for line in FlakeTable.markdown(FlakeTable.rows(loaded)) { Output.line(line) }
  }
}

/// `teeharness report faults RUN…`: runs of the fault catalog (`ci/faults`) judged against what each fault's
/// manifest says must fail, as a summary and a kill matrix; a run on a stack without a fault is a baseline. Exits
/// 1 when a fault escaped or a baseline failed.
struct FaultReports: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "faults",
    abstract: "Judge runs on the fault catalog's stacks: what was caught, by which failure, and when (Markdown).")

  @Argument(help: "Each stack's report.json (or run folder).")
  var reports: [String]

  func run() async throws {
    let runs = try reports.map { path -> (stack: String, fault: FaultSpec?, run: RunResult) in
      let run = try MergeReports.load(path)
      guard let properties = run.suites.first?.properties, let stack = properties["manifest"] else {
        throw HarnessError("\(path): the run says no manifest (no suite ran, or not a `check` run's report)", fix: "pass the report of a `check` run that ran suites")
      }
      do {
        return (stack, try properties["manifest.effective"].flatMap(FaultSpec.of(effectiveManifest:)), run)
      } catch {
        let why = (error as? HarnessError)?.message ?? "\(error)"
        throw HarnessError("\(path): the fault in its effective manifest does not read: \(why)", fix: "fix the fault's manifest and run it again")
      }
    }
    let rows = KillMatrix.rows(runs)
    for line in KillMatrix.markdown(rows, runs: runs.map(\.run)) { Output.line(line) }
    if !rows.allSatisfy(\.holds) { throw HarnessExitRequest(.failed) }
  }
}
