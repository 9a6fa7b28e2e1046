import Console
import Foundation
import GDBRemote
import HarnessSupport
import Images
import QMP

/// Boots `configuration` and runs `body` with the machine; QEMU is torn down when `body` returns, throws or is
/// cancelled (and, through the process guard, when the harness itself dies).
///
/// QEMU starts paused (`-S`) with every channel a client of a socket the harness already listens on; the
/// harness accepts the normal console, the secure console, QMP and the GDB stub, and only then lets the CPUs run
/// (`cont`), so not one byte of boot output is lost.
/// - Throws: `MachineError` when QEMU is missing, exits early or never connects; whatever `body` throws.
/// A machine `pool` prepared for `configuration` is taken instead of launching one (its CPUs are held: a restored
/// machine lets them run in `awaitRestored`).
package func withMachine<T: Sendable>(
  _ configuration: MachineConfiguration, start: Bool = true, from pool: MachinePool? = nil, _ body: (Machine) async throws -> T
) async throws -> T {
  var taken: Machine?
  if let pool { taken = await pool.take(configuration) }
  let machine: Machine
  if let taken { machine = taken } else { machine = try await launchMachine(configuration, start: start) }
  do {
    let result = try await body(machine)
    await machine.shutdown()
    return result
  } catch {
    await machine.shutdown()
    throw error
  }
}

/// Launches QEMU and attaches; the caller owns the teardown (`withMachine` does it). A launch that fails leaves
/// no private folder behind.
func launchMachine(_ configuration: MachineConfiguration, start: Bool) async throws -> Machine {
  do {
    return try await attach(configuration, start: start)
  } catch {
    try? FileManager.default.removeItem(at: configuration.socketDirectory)
    throw error
  }
}

private func attach(_ configuration: MachineConfiguration, start: Bool) async throws -> Machine {
  let fm = FileManager.default
  let images = configuration.images
  guard fm.isExecutableFile(atPath: images.qemu.path) else {
    throw HarnessError("QEMU binary \(images.qemu.path) not found", fix: "run `swift run teeharness setup` (as root)")
  }
  let required = [("BL1", images.bl1), ("kernel", images.kernel), ("initramfs", images.initramfs)]
  for (what, file) in required {
    guard fm.fileExists(atPath: file.path) else {
      throw HarnessError("image \(what) missing: \(file.path)", fix: "run `swift run teeharness images build`")
    }
  }
  try fm.createDirectory(at: configuration.runDirectory, withIntermediateDirectories: true)
  try fm.createDirectory(at: configuration.socketDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
  // The secure flash: BL1 and a FIP of the other firmware images, which BL1 loads without semihosting.
  try Data(try FlashImage.make(images)).write(to: URL(fileURLWithPath: configuration.flashImage))

  let harnessStub = configuration.gdbStub == .harness
  let listeners = try ([configuration.normalSocket, configuration.secureSocket, configuration.qmpSocket]
    + (harnessStub ? [configuration.gdbSocket] : []))
    .map { try UnixListener(path: $0) }
  defer { for l in listeners { l.close() } }

  let argv = configuration.argv
  try Data((argv.joined(separator: " ") + "\n").utf8).write(to: configuration.runDirectory.appendingPathComponent("qemu.argv"))
  let stderrFile = configuration.runDirectory.appendingPathComponent("qemu.stderr")
  let launchedAt = ContinuousClock.now
  let process = try ChildProcess(argv, in: configuration.socketDirectory, output: stderrFile)

  func early(_ message: String) async -> MachineError {
    let status = await process.wait(until: .after(.seconds(2)))
    if status == nil { await process.terminate() }
    let stderr = ((try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "").lastLines(20)
    return MachineError(message: message, argv: argv, status: status, stderr: stderr)
  }

  var connections: [SocketConnection] = []
  let names = ["to the normal console", "to the secure console", "to QMP", "to the GDB stub"]
  for (listener, name) in zip(listeners, names) {
    do {
      connections.append(try await acceptWhileRunning(listener, name, process: process, deadline: .after(.seconds(20))))
    } catch {
      for c in connections { c.close() }
      throw await early(process.isRunning ? "QEMU did not connect \(name) within 20 s" : "QEMU exited before connecting \(name)")
    }
  }

  let normal = ConsoleSession(name: "normal", connection: connections[0], origin: launchedAt,
    transcriptFile: configuration.runDirectory.appendingPathComponent("normal.log"), rules: BadPatternWatcher.normalWorld)
  let secure = ConsoleSession(name: "secure", connection: connections[1], origin: launchedAt,
    transcriptFile: configuration.runDirectory.appendingPathComponent("secure.log"), rules: BadPatternWatcher.secureWorld)
  let qmp = QMPClient(connection: connections[2])
  let rsp = harnessStub ? RSPClient(connection: connections[3]) : nil
  let probe = Result { () throws -> SecureWorldProbe in
    guard let rsp else { throw HarnessError("the GDB stub is \(configuration.gdbStub == .none ? "off" : "left to a person's debugger")") }
    guard let teeElf = images.teeElf else { throw SymbolsMissing(what: "no tee.elf") }
    guard let layout = images.opteeLayout else { throw SymbolsMissing(what: "tee.elf has no thread-table layout (no debug information)") }
    let config = images.opteeConfig.map(OpteeConfigCache.load)
    return SecureWorldProbe(rsp: rsp, tee: try SymbolCache.shared.symbols(teeElf),
      firmware: images.bl31Elf.flatMap { try? SymbolCache.shared.symbols($0) }, layout: try OpteeLayout(contentsOf: layout),
      // Only the test watchdog's callout enters OP-TEE every period: a callout service with nothing on it never does.
      periodicEntry: (config?.flag("CFG_CALLOUT") ?? true) && (config?.flag("CFG_NOTIF_TEST_WD") ?? true),
      poke: { try await secure.send("\r") })
  }
  let machine = Machine(configuration: configuration, process: process, normal: normal, secure: secure, qmp: qmp,
    gdb: rsp, secureWorld: probe, launchedAt: launchedAt)
  let context: @Sendable () async -> String = { [weak machine] in await machine?.context() ?? "" }
  let onAlarm: @Sendable (String, BadPatternWatcher.Alarm) -> Void = { [weak machine] console, alarm in
    Task { await machine?.raise(console, alarm) }
  }
  await normal.start(onAlarm: onAlarm, context: context)
  await secure.start(onAlarm: onAlarm, context: context)
  do {
    try await qmp.connect(deadline: .after(.seconds(10)))
    try await rsp?.connect(deadline: .after(.seconds(10)))
    if start { try await qmp.execute("cont") }
  } catch {
    await machine.shutdown()
    throw await early("QMP or the GDB stub did not come up: \(error)")
  }
  return machine
}

private func acceptWhileRunning(_ listener: UnixListener, _ name: String, process: ChildProcess, deadline: Deadline)
  async throws -> SocketConnection
{
  while true {
    guard process.isRunning else { throw HarnessError("QEMU exited") }
    do {
      return try await listener.accept(name, deadline: deadline.capped(at: .milliseconds(250)))
    } catch is DeadlineExceeded where !deadline.hasPassed {
      continue
    }
  }
}

/// The stack was given without the symbols the secure-world probe reads (a prebuilt OP-TEE without tee.elf).
package struct SymbolsMissing: Error, CustomStringConvertible, Sendable {
  package var what: String
  package var description: String { "\(what): OP-TEE's threads and breakpoints cannot be read" }
}

/// Symbol tables by file, read once per process (tee.elf is a few MB).
final class SymbolCache: @unchecked Sendable {
  static let shared = SymbolCache()
  private let lock = NSLock()
  private var tables: [URL: ELFSymbols] = [:]

  func symbols(_ url: URL) throws -> ELFSymbols {
    lock.lock()
    defer { lock.unlock() }
    if let table = tables[url] { return table }
    let table = try ELFSymbols(contentsOf: url)
    tables[url] = table
    return table
  }
}

enum OpteeConfigCache {
  static func load(_ url: URL) -> OpteeConfig {
    OpteeConfig(parsing: (try? String(contentsOf: url, encoding: .utf8)) ?? "")
  }
}
