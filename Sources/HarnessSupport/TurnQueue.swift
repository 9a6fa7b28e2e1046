import Foundation

/// One holder at a time, the others served in the order they came, each waiting no longer than its deadline: a
/// channel that carries one conversation at a time (a GDB stub) queues a second caller instead of mixing its
/// bytes into the first one's, and never drops it.
package actor TurnQueue {
  private let channel: String
  private var holder: String?
  private var waiting: [(id: UUID, what: String, continuation: CheckedContinuation<Void, any Error>)] = []

  /// `channel` names what the turns are for in errors (`the GDB stub`).
  package init(_ channel: String) { self.channel = channel }

  /// What holds the turn now, if anything.
  package var current: String? { holder }
  /// How many callers wait for the turn.
  package var waitingCount: Int { waiting.count }

  /// Runs `body` holding the turn, taken when every earlier caller has passed it on.
  /// - Throws: `DeadlineExceeded` naming what still held the turn when `deadline` passed while waiting;
  ///   `CancellationError` when the caller is cancelled while waiting; else what `body` throws.
  package func exclusive<T: Sendable>(_ what: String, deadline: Deadline, _ body: @Sendable () async throws -> T) async throws -> T {
    try await take(what, deadline: deadline)
    do {
      let result = try await body()
      pass()
      return result
    } catch {
      pass()
      throw error
    }
  }

  /// Takes the turn (waiting for it); the caller must `pass()` it on.
  package func take(_ what: String, deadline: Deadline) async throws {
    try Task.checkCancellation()
    guard holder != nil else {
      holder = what
      return
    }
    let id = UUID()
    let started = ContinuousClock.now
    let timer = Task { [weak self] in
      try await Task.sleep(until: deadline.instant, clock: .continuous)
      guard let self else { return }
      let busy = await self.holder ?? "another caller"
      await self.giveUp(id, DeadlineExceeded("\(self.channel): still busy with \(busy) when \(what) wanted it", after: .now - started, channel: true))
    }
    defer { timer.cancel() }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { waiting.append((id, what, $0)) }
    } onCancel: {
      Task { await self.giveUp(id, CancellationError()) }
    }
  }

  /// Hands the turn to the next caller waiting, if any.
  package func pass() {
    guard !waiting.isEmpty else {
      holder = nil
      return
    }
    let next = waiting.removeFirst()
    holder = next.what
    next.continuation.resume()
  }

  private func giveUp(_ id: UUID, _ error: any Error) {
    guard let i = waiting.firstIndex(where: { $0.id == id }) else { return }
    waiting.remove(at: i).continuation.resume(throwing: error)
  }
}
