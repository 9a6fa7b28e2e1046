import Foundation

/// A point in time by which something must have happened. Passed down through nested waits; a step uses the
/// earlier of its own timeout and the deadline it was given.
package struct Deadline: Sendable, Comparable, CustomStringConvertible {
  package let instant: ContinuousClock.Instant

  package init(_ instant: ContinuousClock.Instant) { self.instant = instant }

  /// `duration` from now.
  package static func after(_ duration: Duration) -> Deadline { Deadline(.now + duration) }

  package static var distantFuture: Deadline { .after(.seconds(86_400 * 365)) }

  package var remaining: Duration { instant - .now }
  package var hasPassed: Bool { ContinuousClock.now >= instant }

  /// The earlier of this deadline and `duration` from now.
  package func capped(at duration: Duration) -> Deadline { Swift.min(self, .after(duration)) }

  package static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.instant < rhs.instant }

  package var description: String { "deadline in \(remaining.seconds.formatted(decimals: 1)) s" }
}

extension Duration {
  /// The duration in seconds as a `Double`.
  package var seconds: Double {
    let (s, attoseconds) = components
    return Double(s) + Double(attoseconds) / 1e18
  }
}

extension Double {
  /// `12.345.formatted(decimals: 1)` is `"12.3"`.
  package func formatted(decimals: Int) -> String { String(format: "%.\(decimals)f", self) }
}

/// Thrown when a deadline passes before the awaited condition holds.
package struct DeadlineExceeded: Error, CustomStringConvertible, Sendable {
  package var what: String
  package var after: Duration
  /// One of the harness's own channels (QMP, the GDB stub's replies, a queue for it) did not answer: the
  /// harness's trouble, an error — not the stack failing.
  package var channel: Bool
  package init(_ what: String, after: Duration, channel: Bool = false) {
    self.what = what
    self.after = after
    self.channel = channel
  }
  /// `after` zero: the waiter said in `what` what did not come.
  package var description: String { after == .zero ? what : "\(what): no answer within \(after.seconds.formatted(decimals: 1)) s" }
}

/// Runs `operation`, cancelling it and throwing `DeadlineExceeded` when `deadline` passes first.
///
/// Returns at the deadline even if `operation` does not react to cancellation (it is cancelled and left to
/// finish on its own); cancelling the caller cancels `operation`.
package func withDeadline<T: Sendable>(
  _ deadline: Deadline, _ what: @autoclosure () -> String,
  _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
  let label = what()
  let started = ContinuousClock.now
  return try await withAbort({
    try? await Task.sleep(until: deadline.instant, clock: .continuous)
    return Task.isCancelled ? nil : DeadlineExceeded(label, after: .now - started)
  }, operation)
}

/// Runs `operation` until it ends or `abort` returns an error: then `operation` is cancelled and the error thrown
/// at once, even if `operation` does not react to cancellation (it is left to finish on its own). `abort` is
/// cancelled once `operation` ends; it returns nil then. Cancelling the caller cancels `operation`.
package func withAbort<T: Sendable>(
  _ abort: @escaping @Sendable () async -> (any Error)?,
  _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
  let outcome = ResumeOnce<T>()
  let work = Task { () -> Void in
    do { outcome.resume(.success(try await operation())) } catch { outcome.resume(.failure(error)) }
  }
  let watcher = Task {
    if let error = await abort(), !Task.isCancelled {
      work.cancel()
      outcome.resume(.failure(error))
    }
  }
  defer { watcher.cancel() }
  return try await withTaskCancellationHandler {
    try await outcome.value()
  } onCancel: {
    work.cancel()
    outcome.resume(.failure(CancellationError()))
  }
}

/// A result delivered once, to one waiter, whichever of several racers comes first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var result: Result<T, any Error>?
  private var continuation: CheckedContinuation<T, any Error>?

  func resume(_ value: Result<T, any Error>) {
    lock.lock()
    guard result == nil else { return lock.unlock() }
    result = value
    let c = continuation
    continuation = nil
    lock.unlock()
    c?.resume(with: value)
  }

  func value() async throws -> T {
    try await withCheckedThrowingContinuation { c in
      lock.lock()
      if let result {
        lock.unlock()
        c.resume(with: result)
      } else {
        continuation = c
        lock.unlock()
      }
    }
  }
}
