import Foundation
import GDBRemote
import HarnessSupport

/// Saved machines, one per snapshot identity (images, machine, stub) and QEMU version, kept in the cache.
package struct SnapshotStore: Sendable {
  package var directory: URL

  package init(directory: URL) { self.directory = directory }
  /// The store in the harness's cache folder.
  package init(cache: URL) { self.init(directory: cache.appendingPathComponent("snapshots", isDirectory: true)) }

  /// Where the machine of `configuration`, run by `qemuVersion`, is saved.
  package func file(for configuration: MachineConfiguration, qemuVersion: String) -> URL {
    directory.appendingPathComponent(SHA256.hex(configuration.snapshotIdentity + "\n" + qemuVersion) + ".vmstate")
  }

  /// The saved machine, if there is one (its state and its consoles' history).
  package func existing(for configuration: MachineConfiguration, qemuVersion: String) -> URL? {
    let url = file(for: configuration, qemuVersion: qemuVersion)
    return has(url) ? url : nil
  }

  /// Whether the machine saved at `state` is complete: its state, its consoles' history and their digests.
  package func has(_ state: URL) -> Bool {
    let fm = FileManager.default
    return [state, SavedConsoles.file(beside: state), Self.digests(beside: state)].allSatisfy { fm.fileExists(atPath: $0.path) }
  }

  /// Forgets a saved machine (one that failed to restore, or is damaged).
  package func discard(_ url: URL) {
    for file in [url, SavedConsoles.file(beside: url), Self.digests(beside: url)] { try? FileManager.default.removeItem(at: file) }
  }

  /// The saved machine for `configuration` when there is one whose files match the digests saved beside them;
  /// a damaged one (a flipped byte, a truncated file) is discarded and said why in `damaged`.
  package func verified(for configuration: MachineConfiguration, qemuVersion: String, damaged: (String) -> Void) async -> URL? {
    guard let state = existing(for: configuration, qemuVersion: qemuVersion) else { return nil }
    // Shared with other readers, never while another process saves this machine.
    let verdict: String?
    do {
      verdict = try await FileLock.with(Self.lock(of: state), exclusive: false, deadline: .after(.seconds(120))) {
        let why = await Self.damage(of: state)
        if why != nil { discard(state) }
        return why
      }
    } catch {
      damaged("the saved machine \(state.lastPathComponent) could not be checked (\(error)): this run boots")
      return nil
    }
    guard let why = verdict else { return state }
    damaged("the saved machine \(state.lastPathComponent) is damaged (\(why)): discarded, this run boots and saves it anew")
    return nil
  }

  /// `<state>.lock`: held to save the machine (exclusive) or to verify it (shared).
  package static func lock(of state: URL) -> URL { state.appendingPathExtension("lock") }

  /// Saves the machine at `state` with `save` unless another harness process saved it meanwhile (one saver of a
  /// machine at a time; readers never verify a machine half-saved).
  package func saveOnce(_ state: URL, _ save: () async throws -> Double) async throws -> Double? {
    try await FileLock.with(Self.lock(of: state), deadline: .after(.seconds(300))) {
      has(state) ? nil : try await save()
    }
  }

  /// `<state>.sha256`: the sha256 of the state and of its consoles' history, as `sha256sum` prints them.
  package static func digests(beside state: URL) -> URL { state.appendingPathExtension("sha256") }

  /// Why the saved machine at `state` cannot be trusted, or nil when its files match their digests. Each file is
  /// digested once per process while its size and time stay the same (restores reuse it for every test).
  static func damage(of state: URL) async -> String? {
    let files = [state, SavedConsoles.file(beside: state)]
    guard let text = try? String(contentsOf: digests(beside: state), encoding: .utf8) else { return "its digests cannot be read" }
    var expected: [String: String] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1)
      guard parts.count == 2 else { continue }
      expected[parts[1].trimmingCharacters(in: .whitespaces)] = String(parts[0])
    }
    let stamps = files.map(FileStamp.init)
    if stamps.allSatisfy({ $0 != nil && VerifiedFiles.shared.contains($0!) }) { return nil }
    guard let actual = try? await FileDigest.sha256(of: files) else { return "its files cannot be read" }
    for (file, digest) in zip(files, actual) where expected[file.lastPathComponent] != digest {
      return "\(file.lastPathComponent) does not match its sha256 (\(expected[file.lastPathComponent].map { String($0.prefix(12)) } ?? "none") saved, \(digest.prefix(12)) now; \(Self.history(of: file, digests: digests(beside: state))))"
    }
    for stamp in stamps.compactMap({ $0 }) { VerifiedFiles.shared.insert(stamp) }
    return nil
  }
}

extension SnapshotStore {
  /// The file's size and when it was last written, against its digests' time: a file written after its digests
  /// names a late writer; one written before them, a change that kept the time (or a digest of the wrong bytes).
  static func history(of file: URL, digests: URL) -> String {
    guard let state = FileStamp(file), let sums = FileStamp(digests) else { return "its times cannot be read" }
    let late = Double(state.modified - sums.modified) / 1e9
    let when = late >= 0 ? "written \(late.formatted(decimals: 3)) s after its digests" : "last written \((-late).formatted(decimals: 3)) s before its digests"
    return "\(state.size) bytes, \(when)"
  }
}

/// A file's identity for "already verified in this process": path, size and modification time.
struct FileStamp: Hashable, Sendable {
  var path: String
  var size: Int64
  var modified: Int64
  init?(_ url: URL) {
    var info = stat()
    guard stat(url.path, &info) == 0 else { return nil }
    (path, size, modified) = (url.path, Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
  }
}

/// The saved-machine files this process has digested and found intact.
final class VerifiedFiles: @unchecked Sendable {
  static let shared = VerifiedFiles()
  private let lock = NSLock()
  private var stamps: Set<FileStamp> = []
  func contains(_ stamp: FileStamp) -> Bool { lock.withLock { stamps.contains(stamp) } }
  func insert(_ stamp: FileStamp) { lock.withLock { _ = stamps.insert(stamp) } }
}

/// How long the parts of a restore took, in seconds from launch.
package struct RestoreTimes: Sendable, Equatable {
  /// The saved state loaded and the CPUs running.
  package var running: Double
  /// The secure timer armed again (equal to `running` when nothing needed it).
  package var timerArmed: Double
  /// The shell answered: ready.
  package var ready: Double
  /// What re-arming did (nil when it was not asked for).
  package var secureTimer: SecureTimerRearm?
}

extension Machine {
  /// Saves the whole machine — both worlds, devices, RAM — to `file` (QMP `migrate` to `exec:cat`), and what its
  /// consoles printed so far beside it (`SavedConsoles`), then lets it run on. The files appear only once
  /// complete. Returns the seconds it took.
  /// - Throws: `HarnessError` when QEMU reports the migration failed; `DeadlineExceeded`.
  @discardableResult
  package func saveSnapshot(to file: URL, deadline: Deadline) async throws -> Double {
    let started = ContinuousClock.now
    let fm = FileManager.default
    try fm.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    // Names of this save alone: the writer of an earlier save that was abandoned (its QEMU ended, its `cat` ran on)
    // reports into a file of its own, never into this one, and never writes into this save's state.
    let partial = SavedStateWriter.partial(of: file)
    let consoles = SavedConsoles.file(beside: file)
    let partialConsoles = SavedStateWriter.partial(of: consoles)
    let written = partial.appendingPathExtension("written")
    defer {
      for leftover in [partial, partialConsoles, written] { try? fm.removeItem(at: leftover) }
    }
    // Stopped through the GDB stub when the harness holds it: a QMP `stop` would make the stub report a stop
    // nobody asked it for, and the harness would take it for the next breakpoint. (Not at a breakpoint: a
    // machine saved in QEMU's `debug` state cannot be loaded.)
    let qmp = self.qmp
    let (halt, resume): (@Sendable () async throws -> Void, @Sendable () async throws -> Void) =
      if let gdb {
        ({ _ = try await gdb.interrupt(deadline: deadline) }, { try await gdb.resume() })
      } else {
        ({ _ = try await qmp.execute("stop", deadline: deadline) }, { _ = try await qmp.execute("cont", deadline: deadline) })
      }
    try await halt()
    do {
      let history = SavedConsoles(normal: await normal.lines(), secure: await secure.lines(), savedAt: now())
      // QEMU says "completed" once it has written the last byte into the pipe, before `cat` has drained it into
      // the file: the writer says when it is done (and how) in a file of its own, read before the state is digested.
      try await qmp.execute("migrate", arguments: ["uri": "exec:\(SavedStateWriter.command(writing: partial, reportingTo: written))"], deadline: deadline)
      while true {
        let state = try await qmp.execute("query-migrate", deadline: deadline).dictionary
        let status = state["status"] as? String ?? "none"
        if status == "completed" { break }
        if ["failed", "cancelled"].contains(status) {
          throw HarnessError("saving the machine failed: \(state["error-desc"] as? String ?? status)")
        }
        if deadline.hasPassed { throw DeadlineExceeded("saving the machine (migration \(status))", after: .now - started) }
        try await Task.sleep(for: .milliseconds(20))
      }
      while case .running = SavedStateWriter.outcome(in: written) {
        if deadline.hasPassed { throw DeadlineExceeded("the saved machine's file to be written to its end (QEMU said the migration completed)", after: .now - started) }
        try await Task.sleep(for: .milliseconds(5))
      }
      if case .failed(let status) = SavedStateWriter.outcome(in: written) {
        throw HarnessError("saving the machine failed: writing \(partial.path) ended with status \(status)")
      }
      try history.encoded().write(to: partialConsoles)
      // Digests beside the files, checked before every restore: a damaged saved machine is never loaded.
      let digests = SnapshotStore.digests(beside: file)
      let partialDigests = SavedStateWriter.partial(of: digests)
      defer { try? fm.removeItem(at: partialDigests) }
      let sums = try await FileDigest.sha256(of: [partial, partialConsoles])
      try Data("\(sums[0])  \(file.lastPathComponent)\n\(sums[1])  \(consoles.lastPathComponent)\n".utf8).write(to: partialDigests)
      for old in [digests, file, consoles] { _ = try? fm.removeItem(at: old) }
      try fm.moveItem(at: partialConsoles, to: consoles)
      try fm.moveItem(at: partial, to: file)
      // Last: the saved machine counts as there (`has`) only once all three are.
      try fm.moveItem(at: partialDigests, to: digests)
    } catch {
      try? await resume()
      throw error
    }
    try await resume()
    return (ContinuousClock.now - started).seconds
  }

  /// Waits until a machine started from a saved state runs, (with `rearmSecureTimer`) makes QEMU arm the secure
  /// physical timer again, which it does not carry across a restore, and waits until the shell answers (setting
  /// the guest's wall clock to the host's: it stood still since the save). The consoles get what they printed
  /// before the save (`linesSinceBoot`).
  /// - Throws: `MachineError` when QEMU could not load the state (it exits); `HarnessError` when the consoles'
  ///   history is unreadable; `DeadlineExceeded`.
  package func awaitRestored(rearmSecureTimer: Bool, deadline: Deadline) async throws -> RestoreTimes {
    // Saved only once ready: the console has the quiet shell.
    await shell.assumeQuiet()
    if let state = configuration.incoming {
      let history = try SavedConsoles(contentsOf: SavedConsoles.file(beside: state))
      await normal.restore(earlier: history.normalLines)
      await secure.restore(earlier: history.secureLines)
    }
    // It comes up in the state it was saved in (stopped): let it run once loaded.
    while case let status = try await qmp.status(), status != "running" {
      if status != "inmigrate" && status != "prelaunch" { try await qmp.execute("cont", deadline: deadline) }
      guard isRunning else { throw MachineError(message: "QEMU could not load the saved machine", argv: configuration.argv, status: process.status, stderr: stderrTail()) }
      if deadline.hasPassed { throw DeadlineExceeded("the saved machine to load (QEMU \(try await qmp.status()))", after: .zero) }
      try await Task.sleep(for: .milliseconds(5))
    }
    let running = now()
    var rearm: SecureTimerRearm?
    if rearmSecureTimer, let secureWorld {
      // A standard call from the payload client pinned to the CPU: no interrupt path involved (the byte at the
      // secure console needs the secure UART's interrupt, which a suite may be testing broken).
      let client = try await shell.run("command -v teeharness-client", timeout: .seconds(10), deadline: deadline).status == 0
      let shell = self.shell
      let call: @Sendable (Int) async throws -> Void = { cpu in
        _ = try await shell.run("taskset \(1 << cpu) \(Machine.standardCall)", timeout: .seconds(20), deadline: deadline)
      }
      rearm = try await secureWorld.rearmSecureTimer(deadline: deadline, call: client ? call : nil)
    }
    let armedAt = now()
    // Then the shell must answer (by then OP-TEE has also done with the call or byte that made it stop);
    // the command sets the guest's wall clock, which stood still since the save, to the host's.
    let epoch = Int(Date().timeIntervalSince1970.rounded())
    let sync = try await shell.run("date -s @\(epoch) > /dev/null", timeout: .seconds(10), deadline: deadline)
    guard sync.status == 0 else {
      throw HarnessError("the restored guest's shell does not answer commands (date -s exited \(sync.status))")
    }
    restored = true
    return RestoreTimes(running: running, timerArmed: armedAt, ready: now(), secureTimer: rearm)
  }

  /// Waits until neither console has printed a line for `quiet` (a machine about to be saved should be idle).
  /// A guest command that makes one standard call into OP-TEE (the payload client, a call that returns at once):
  /// a way into the secure world that needs no interrupt path.
  package static let standardCall = "teeharness-client calls -n 1 -c return > /dev/null 2>&1"

  package func awaitQuietConsoles(_ quiet: Double = 0.5, deadline: Deadline) async throws {
    func printing() async -> Bool {
      let since = now() - quiet
      let normalLines = await normal.slice(from: since), secureLines = await secure.slice(from: since)
      return !normalLines.isEmpty || !secureLines.isEmpty
    }
    while await printing() {
      if deadline.hasPassed { throw DeadlineExceeded("the consoles to be quiet for \(quiet) s", after: .zero) }
      try await Task.sleep(for: .milliseconds(50))
    }
  }
}

extension SnapshotStore {
  /// One saved machine on disk, by its key: its files and whether it can be restored.
  package struct Entry: Sendable {
    package var key: String
    package var files: [URL]
    package var bytes: Int64
    package var saved: Date?
    /// Why it will never be restored (files missing, no digests: saved before digests existed), or nil.
    package var unusable: String?
  }

  /// Every saved machine in the store, complete or not.
  package func entries() -> [Entry] {
    let fm = FileManager.default
    let names = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
    var byKey: [String: [URL]] = [:]
    for name in names where !name.hasPrefix(".") {
      guard let key = name.split(separator: ".").first.map(String.init), key.count == 64 else { continue }
      byKey[key, default: []].append(directory.appendingPathComponent(name))
    }
    return byKey.keys.sorted().map { key in
      let files = byKey[key]!
      let state = directory.appendingPathComponent("\(key).vmstate")
      let attributes = try? fm.attributesOfItem(atPath: state.path)
      let bytes = files.reduce(Int64(0)) { $0 + ((try? fm.attributesOfItem(atPath: $1.path)[.size] as? Int64) ?? 0) }
      let missing = [state, SavedConsoles.file(beside: state), Self.digests(beside: state)].filter { !fm.fileExists(atPath: $0.path) }
      return Entry(key: key, files: files, bytes: bytes, saved: attributes?[.modificationDate] as? Date,
        unusable: missing.isEmpty ? nil : "no \(missing.map { $0.lastPathComponent.replacingOccurrences(of: key, with: "<key>") }.joined(separator: ", "))")
    }
  }

  /// Removes `entry`'s files, holding its lock (never while another process saves or verifies it).
  package func remove(_ entry: Entry) async throws {
    let state = directory.appendingPathComponent("\(entry.key).vmstate")
    try await FileLock.with(Self.lock(of: state), deadline: .after(.seconds(30))) {
      for file in entry.files where file != Self.lock(of: state) { try? FileManager.default.removeItem(at: file) }
      // Last, still held: a later saver makes a new one.
      try? FileManager.default.removeItem(at: Self.lock(of: state))
    }
  }
}

/// The command QEMU's `exec:` migration writes a saved machine through, and what it says when it has finished.
enum SavedStateWriter {
  enum Outcome: Equatable { case running, done, failed(String) }

  /// `.<name>.s<token>.<pid>.partial` beside `file`: a name no other save uses, not even an earlier one of this
  /// process (a leftover's pid is what `Leftovers` reads, before `.partial`).
  static func partial(of file: URL) -> URL {
    file.deletingLastPathComponent().appendingPathComponent(
      ".\(file.lastPathComponent).s\(String(UInt64.random(in: 0...UInt64.max), radix: 16)).\(getpid()).partial")
  }

  /// `cat` into `file`, then its exit status into `report` (written once `cat` has closed `file`).
  static func command(writing file: URL, reportingTo report: URL) -> String {
    "cat > \(shellQuoted(file.path)); echo \"$?\" > \(shellQuoted(report.path))"
  }

  /// What the report at `url` says: nothing yet (no file, or its line not yet whole), done, or failed.
  static func outcome(in url: URL) -> Outcome {
    guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8),
      text.hasSuffix("\n") else { return .running }
    let status = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return status == "0" ? .done : .failed(status.isEmpty ? "unknown" : String(status.prefix(20)))
  }
}
