import Foundation

/// The next machine, made ahead: launched from its configuration (a saved machine loading, its CPUs held) while
/// the current test runs, so the next test does not wait for QEMU to start and load. One machine at a time;
/// closure-scoped (`withMachinePool`): a machine prepared and never taken is shut down when the scope ends.
package final class MachinePool: @unchecked Sendable {
  private let lock = NSLock()
  private typealias Prepared = (key: String, configuration: MachineConfiguration, launch: Task<Machine, any Error>)
  private var prepared: Prepared?

  fileprivate init() {}

  /// Launches `configuration` in the background, its CPUs held, to be taken under `key` (what the machine is for);
  /// a machine prepared before and not taken is shut down.
  package func prepare(_ key: String, _ configuration: MachineConfiguration) async {
    let launch = Task { try await launchMachine(configuration, start: false) }
    let replaced = lock.withLock { () -> Prepared? in
      defer { prepared = (key, configuration, launch) }
      return prepared
    }
    if let replaced { await shut(replaced) }
  }

  /// The configuration prepared under `key`, when there is one; the machine itself is taken by `withMachine`.
  package func configuration(for key: String) -> MachineConfiguration? {
    lock.withLock { prepared?.key == key ? prepared?.configuration : nil }
  }

  /// The machine launched for `configuration` (nil when none was, or its launch failed: the caller launches it
  /// anew, and a launch that failed left nothing behind). A machine prepared for anything else is shut down: it
  /// would otherwise hold its memory until the pool's end.
  func take(_ configuration: MachineConfiguration) async -> Machine? {
    guard let p = lock.withLock({ defer { prepared = nil }; return prepared }) else { return nil }
    guard p.configuration.socketDirectory == configuration.socketDirectory else {
      await shut(p)
      return nil
    }
    return try? await p.launch.value
  }

  /// Shuts down the machine prepared and not taken.
  package func discard() async {
    guard let p = lock.withLock({ defer { prepared = nil }; return prepared }) else { return }
    await shut(p)
  }

  /// Shuts down a machine that ran nothing, and removes its run folder.
  private func shut(_ p: Prepared) async {
    if let machine = try? await p.launch.value { await machine.shutdown() }
    try? FileManager.default.removeItem(at: p.configuration.runDirectory)
  }
}

/// Runs `body` with a pool for the next machine; a machine still prepared at the end is shut down, also when
/// `body` throws or is cancelled.
package func withMachinePool<T: Sendable>(_ body: (MachinePool) async throws -> T) async rethrows -> T {
  let pool = MachinePool()
  do {
    let result = try await body(pool)
    await pool.discard()
    return result
  } catch {
    await pool.discard()
    throw error
  }
}
