import Foundation

/// A point in time by which something must have happened. Passed down through nested waits; a step uses the
/// earlier of its own timeout and the deadline it was given.
public struct Deadline: Sendable, Comparable, CustomStringConvertible {
  public let instant: ContinuousClock.Instant

  public init(_ instant: ContinuousClock.Instant) { self.instant = instant }

  /// `duration` from now.
  public static func after(_ duration: Duration) -> Deadline { Deadline(.now + duration) }

  public static var distantFuture: Deadline { .after(.seconds(86_400 * 365)) }

  public var remaining: Duration { instant - .now }
  public var hasPassed: Bool { ContinuousClock.now >= instant }

  /// The earlier of this deadline and `duration` from now.
  public func capped(at duration: Duration) -> Deadline { Swift.min(self, .after(duration)) }

  public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.instant < rhs.instant }

  public var description: String { "deadline in \(remaining.seconds.formatted(decimals: 1)) s" }
}

extension Duration {
  /// The duration in seconds as a `Double`.
  public var seconds: Double {
    let (s, attoseconds) = components
    return Double(s) + Double(attoseconds) / 1e18
  }
}

extension Double {
  /// `12.345.formatted(decimals: 1)` is `"12.3"`.
  public func formatted(decimals: Int) -> String { String(format: "%.\(decimals)f", self) }
}

/// Thrown when a deadline passes before the awaited condition holds.
public struct DeadlineExceeded: Error, CustomStringConvertible, Sendable {
  public var what: String
  public var after: Duration
  public init(_ what: String, after: Duration) {
    self.what = what
    self.after = after
  }
  public var description: String { "\(what): no answer within \(after.seconds.formatted(decimals: 1)) s" }
}

/// Runs `operation`, cancelling it and throwing `DeadlineExceeded` when `deadline` passes first.
public func withDeadline<T: Sendable>(
  _ deadline: Deadline, _ what: @autoclosure () -> String,
  _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
  let label = what()
  let started = ContinuousClock.now
  return try await withThrowingTaskGroup(of: T?.self) { group in
    group.addTask { try await operation() }
    group.addTask {
      try? await Task.sleep(until: deadline.instant, clock: .continuous)
      return nil
    }
    defer { group.cancelAll() }
    guard let first = try await group.next() else { throw CancellationError() }
    if let value = first { return value }
    throw DeadlineExceeded(label, after: .now - started)
  }
}
