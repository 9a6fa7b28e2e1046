import Foundation
import HarnessSupport
import Reporting
import Testing

extension Tag {
  /// Tests that make clean Debian roots with debootstrap (minutes, a few hundred MB): run with
  /// `TEEHARNESS_ROOTS=1 swift test --filter HostRootsTests`.
  @Tag static var roots: Self
}

/// The harness on fresh hosts: `setup` on clean Debian 12, Debian 13 and Ubuntu 24.04 roots, and the CI templates' report jobs in a
/// root made like the `swift:6.3-bookworm` image they name — so a package missing there fails here, not in a
/// user's first pipeline.
@Suite(.tags(.roots), .serialized, .enabled(if: ProcessInfo.processInfo.environment["TEEHARNESS_ROOTS"] == "1"))
struct HostRootsTests {
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
  static var executable: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("teeharness")
  }
  /// What the Swift image installs on bookworm besides the toolchain (its Dockerfile's package list, with the
  /// certificates its recommends bring), and no Python but the library.
  static let swiftImage = ["binutils", "git", "gnupg2", "libc6-dev", "libcurl4-openssl-dev", "libedit2", "libgcc-12-dev",
    "libpython3.11", "libsqlite3-0", "libncurses6", "libstdc++-12-dev", "libxml2-dev", "libz3-dev", "pkg-config", "tzdata", "zlib1g-dev",
    "ca-certificates"]

  /// (Ubuntu's `chromium-browser` only installs the snap, which needs snapd: no browser on noble.)
  @Test(arguments: ["bookworm", "trixie", "noble"])
  func setupInstallsEverythingOnACleanRootOfTheRelease(suite: String) async throws {
    let browser = suite == "noble" ? "" : " --browser"
    let root = try await DebianRoot.make(suite)
    defer { root.remove() }
    let binds = [DebianRoot.Bind(host: "/opt/swift", inside: "/opt/swift"), .init(host: Self.repo.path, inside: "/project"),
      .init(host: Self.executable.deletingLastPathComponent().path, inside: "/harness")]
    let started = ContinuousClock.now
    let result = try await root.run("""
      cd /project
      /harness/teeharness setup --print
      /harness/teeharness setup\(browser)
      /harness/teeharness setup\(browser)
      qemu-system-aarch64 --version | head -1
      aarch64-linux-gnu-gcc --version | head -1
      \(browser.isEmpty ? "" : "chromium --version")
      """, binds: binds, timeout: .seconds(1800))
    print("\(suite): setup in a clean root in \((ContinuousClock.now - started).seconds.formatted(decimals: 1)) s\n\(result.output.lastLines(8))")
    #expect(result.status == 0, "\(result.output.lastLines(30))")
    #expect(result.output.contains("apt-get update && apt-get install -y -t \(suite) --no-install-recommends qemu-system-arm"), "\(result.output.lastLines(30))")
    #expect(result.output.contains("setup: installed qemu-system-arm"))
    #expect(result.output.contains("setup: host prerequisites present, nothing changed"), "a second setup finds nothing missing")
    #expect(result.output.contains("QEMU emulator version"))
  }

  /// The report jobs of both templates, as their YAML says them, in a root like the Swift image with the package
  /// lists removed as that image does; the check jobs' harness and reports are where the jobs' artifacts put them.
  @Test func theTemplatesReportJobsRunInTheSwiftImagesRelease() async throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("teeharness-\(getpid())-jobs-\(UUID().uuidString.prefix(6))")
    defer { try? FileManager.default.removeItem(at: work) }
    let clone = try await Command.run(["git", "clone", "-q", Self.repo.path, work.path], timeout: .seconds(120))
    try #require(clone.status == 0, "\(clone.output)")
    // What the check jobs leave: a shard's report.json and the harness they built.
    let report = RunResult(suites: [SuiteResult(name: "boot", properties: ["manifest": "default"], tests: [
      TestResult(suite: "boot", name: "ok", outcome: .passed, seconds: 1, slices: [ConsoleSlice(console: "normal", lines: ["[   1.000] hi"])]),
      TestResult(suite: "boot", name: "bad", outcome: .failed, message: "no line", seconds: 2),
    ], seconds: 3)], seconds: 3, runDirectory: "ci-out/shard-1")
    let fm = FileManager.default
    for shard in ["ci-out/shard-1", "shards/teeharness-shard-0"] {
      try fm.createDirectory(at: work.appendingPathComponent(shard), withIntermediateDirectories: true)
      try JSONReportWriter.data(report).write(to: work.appendingPathComponent(shard).appendingPathComponent("report.json"))
    }
    for folder in [".build/debug", "shards/teeharness-binary"] {
      try fm.createDirectory(at: work.appendingPathComponent(folder), withIntermediateDirectories: true)
      try fm.copyItem(at: Self.executable, to: work.appendingPathComponent(folder).appendingPathComponent("teeharness"))
    }
    let gitlab = try Self.gitlabScript(String(contentsOf: work.appendingPathComponent("ci/gitlab-ci.yml"), encoding: .utf8), job: "teeharness:report")
    let github = try Self.githubRun(String(contentsOf: work.appendingPathComponent("ci/github-actions.yml"), encoding: .utf8), step: "Merge the shards' reports")
    let binds = [DebianRoot.Bind(host: "/opt/swift", inside: "/opt/swift"), .init(host: work.path, inside: "/builds/project", readOnly: false)]
    for (name, script) in [("gitlab", gitlab), ("github", github)] {
      let root = try await DebianRoot.make("bookworm", include: Self.swiftImage)  // a fresh image per job
      defer { root.remove() }
      let started = ContinuousClock.now
      // As the image ships: no package lists.
      let result = try await root.run("rm -rf /var/lib/apt/lists/*\ncd /builds/project\nset -e\n" + script, binds: binds,
        environment: ["CI": "true", "GITHUB_STEP_SUMMARY": "/builds/project/summary.md", "XDG_CACHE_HOME": "/builds/project/.cache"],
        timeout: .seconds(1200))
      print("\(name) report job in \((ContinuousClock.now - started).seconds.formatted(decimals: 1)) s:\n\(result.output.lastLines(6))")
      // The shard had a failed test: the job is red (1) — after junit-check has read the merged report.
      #expect(result.status == 1, "\(name)'s report job in the Swift image's release:\n\(result.output.lastLines(30))")
      #expect(result.output.contains("setup: installed python3 python3-pip\n") && result.output.contains("boot/bad: failure"), "\(name): junit-check read the merged report back: \(result.output.lastLines(10))")
    }
    let summary = (try? String(contentsOf: work.appendingPathComponent("summary.md"), encoding: .utf8)) ?? ""
    #expect(summary.contains("bad"), "GitHub's job summary names the failed test: \(summary)")
  }

  /// GitLab's check job as its YAML says it (build, setup, a shard of the default suites into an empty cache), then
  /// its report job on what the check job left (its reports and its harness), each in a fresh Swift image.
  @Test func theCheckJobThenTheReportJobRunInTheSwiftImagesRelease() async throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("teeharness-\(getpid())-jobs-\(UUID().uuidString.prefix(6))")
    defer { try? FileManager.default.removeItem(at: work) }
    let clone = try await Command.run(["git", "clone", "-q", Self.repo.path, work.path], timeout: .seconds(120))
    try #require(clone.status == 0, "\(clone.output)")
    let yaml = try String(contentsOf: work.appendingPathComponent("ci/gitlab-ci.yml"), encoding: .utf8)
    let binds = [DebianRoot.Bind(host: "/opt/swift", inside: "/opt/swift"), .init(host: "/opt/swift-packages", inside: "/opt/swift-packages"),
      .init(host: work.path, inside: "/builds/project", readOnly: false)]
    let environment = ["CI": "true", "CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "2", "XDG_CACHE_HOME": "/builds/project/.cache"]
    var statuses: [Int32] = []
    for job in ["teeharness:check", "teeharness:report"] {
      let root = try await DebianRoot.make("bookworm", include: Self.swiftImage)
      defer { root.remove() }
      let started = ContinuousClock.now
      let result = try await root.run("rm -rf /var/lib/apt/lists/*\ncd /builds/project\nset -e\n" + (try Self.gitlabScript(yaml, job: job)),
        binds: binds, environment: environment, timeout: .seconds(2400))
      print("\(job) in \((ContinuousClock.now - started).seconds.formatted(decimals: 1)) s, exit \(result.status):\n\(result.output.lastLines(12))")
      statuses.append(result.status)
      #expect(result.status == 0, "\(job) in the Swift image's release:\n\(result.output.lastLines(40))")
    }
    let fm = FileManager.default
    #expect(fm.fileExists(atPath: work.appendingPathComponent("ci-out/shard-1/junit.xml").path))
    #expect(fm.fileExists(atPath: work.appendingPathComponent("ci-out/merged/report.html").path))
  }

  /// A GitLab job's `script:` lines.
  static func gitlabScript(_ yaml: String, job: String) throws -> String {
    let lines = yaml.components(separatedBy: "\n")
    let start = try #require(lines.firstIndex(of: "\(job):"), "no job \(job)")
    let script = try #require(lines[start...].firstIndex(of: "  script:"), "no script in \(job)")
    return lines[(script + 1)...].prefix { $0.hasPrefix("    ") }.filter { $0.hasPrefix("    - ") }
      .map { String($0.dropFirst(6)) }.joined(separator: "\n")
  }

  /// A GitHub step's `run: |` block.
  static func githubRun(_ yaml: String, step: String) throws -> String {
    let lines = yaml.components(separatedBy: "\n")
    let named = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "- name: \(step)" }, "no step \(step)")
    let run = try #require(lines[named...].firstIndex { $0.trimmingCharacters(in: .whitespaces) == "run: |" }, "no run in \(step)")
    let indent = lines[run + 1].prefix { $0 == " " }.count
    return lines[(run + 1)...].prefix { $0.prefix(indent).allSatisfy { $0 == " " } && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
      .map { String($0.dropFirst(indent)) }.joined(separator: "\n")
  }
}
