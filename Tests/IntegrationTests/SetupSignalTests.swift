import Foundation
import HarnessSupport
import Testing

extension Integration.SignalTests {
  /// `setup` stopped while apt-get installs, 5 times per signal: neither apt-get nor what it started outlives the
  /// harness. A stand-in apt-get is alone on PATH, so every tool looks missing and nothing is installed for real.
  @Test(.enabled(if: getuid() == 0, "setup installs only as root"), arguments: [SIGINT, SIGTERM, SIGKILL])
  func noAptGetOutlivesAnInterruptedSetup(signal: Int32) async throws {
    for round in 1...5 {
      let folder = SharedStack.runFolder("setup-\(signal)-\(round)")
      let bin = folder.appendingPathComponent("bin")
      try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: folder) }
      let aptGet = bin.appendingPathComponent("apt-get")
      try Data("""
        #!/bin/sh
        echo $$ > "\(folder.path)/apt-get.pid"
        /bin/sleep 300 &
        echo $! > "\(folder.path)/sleep.pid"
        wait
        """.utf8).write(to: aptGet)
      try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: aptGet.path)
      var environment = ProcessInfo.processInfo.environment
      environment["PATH"] = bin.path
      environment["TEEHARNESS_ROOT"] = FileManager.default.currentDirectoryPath
      let log = folder.appendingPathComponent("harness.log")
      let harness = try ChildProcess([Self.executable.path, "setup"], in: folder, output: log, environment: environment)
      defer { harness.signal(SIGKILL) }
      let pids = { ["apt-get.pid", "sleep.pid"].compactMap { name in
        (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
      } }
      let installing = await eventually(within: .after(.seconds(30))) { pids().count == 2 || !harness.isRunning }
      try #require(installing && harness.isRunning, "round \(round): apt-get never ran: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
      let started = pids()
      harness.signal(signal)
      let status = await harness.wait(until: .after(.seconds(30)))
      #expect(status != nil, "round \(round): the harness did not end")
      let gone = await eventually(within: .after(.seconds(10))) { started.allSatisfy { kill($0, 0) != 0 } }
      #expect(gone, "round \(round): apt-get or its child outlived the harness (\(started.filter { kill($0, 0) == 0 }))")
      for pid in started { kill(pid, SIGKILL) }
    }
  }
}
