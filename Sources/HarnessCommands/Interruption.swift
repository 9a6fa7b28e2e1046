import Foundation
import HarnessSupport

/// SIGINT and SIGTERM end a run in order: the first cancels the running command (machines shut down, reports
/// are still written); a second one, or a command that has not finished 20 s later, kills every QEMU the
/// harness started and exits at once.
enum Interruption {
  /// Runs `body` as a task that SIGINT/SIGTERM cancel; returns its result and the signal that ended it, if any.
  static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> (T, Int32?) {
    let task = Task { try await body() }
    let received = SignalLatch()
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler {
        if received.record(sig) {
          Output.error("teeharness: \(sig == SIGINT ? "SIGINT" : "SIGTERM") received, shutting down (again to force)")
          task.cancel()
          DispatchQueue.global().asyncAfter(deadline: .now() + 20) { forceExit(sig) }
        } else {
          forceExit(sig)
        }
      }
      source.resume()
      sources.append(source)
    }
    defer { sources.forEach { $0.cancel() } }
    let value = try await task.value
    return (value, received.first)
  }

  static func forceExit(_ sig: Int32) -> Never {
    LiveProcesses.shared.killAll()
    Output.error("teeharness: forced exit")
    exit(128 + sig)
  }
}

final class SignalLatch: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var first: Int32?
  /// Records a signal; true for the first one.
  func record(_ sig: Int32) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if first == nil {
      first = sig
      return true
    }
    return false
  }
}
