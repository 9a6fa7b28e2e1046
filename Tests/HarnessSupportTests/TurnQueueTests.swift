import Foundation
import HarnessSupport
import Testing

@Suite struct TurnQueueTests {
  actor Log {
    var events: [String] = []
    func add(_ e: String) { events.append(e) }
  }

  @Test func callersAreServedOneAtATimeInTheOrderTheyCame() async throws {
    let turns = TurnQueue("the channel")
    let log = Log()
    try await turns.take("first", deadline: .after(.seconds(5)))
    var tasks: [Task<Void, any Error>] = []
    for i in 0..<5 {
      tasks.append(Task {
        try await turns.exclusive("caller \(i)", deadline: .after(.seconds(5))) {
          await log.add("in \(i)")
          await Task.yield()
          await log.add("out \(i)")
        }
      })
      // Each caller queued before the next one comes.
      while await turns.waitingCount < i + 1 { await Task.yield() }
    }
    await turns.pass()
    for task in tasks { try await task.value }
    #expect(await log.events == (0..<5).flatMap { ["in \($0)", "out \($0)"] })
    #expect(await turns.current == nil)
  }

  @Test func aCallerWhoseDeadlinePassesWhileWaitingIsToldWhatHeldTheTurn() async throws {
    let turns = TurnQueue("the GDB stub")
    try await turns.take("breakpoints at 0x1000", deadline: .after(.seconds(5)))
    let started = ContinuousClock.now
    do {
      try await turns.take("a thread-table read", deadline: .after(.milliseconds(200)))
      Issue.record("the turn was taken twice")
    } catch let error as DeadlineExceeded {
      #expect(error.description.contains("the GDB stub: still busy with breakpoints at 0x1000 when a thread-table read wanted it"))
    }
    #expect(ContinuousClock.now - started < .seconds(3))
    // The one who gave up is not served later: the next caller gets the turn.
    await turns.pass()
    try await turns.take("the next one", deadline: .after(.seconds(1)))
    #expect(await turns.current == "the next one")
  }

  @Test func aCancelledWaiterLeavesTheQueue() async throws {
    let turns = TurnQueue("the channel")
    try await turns.take("holder", deadline: .after(.seconds(5)))
    let waiting = Task { try await turns.take("cancelled", deadline: .after(.seconds(30))) }
    while await turns.waitingCount < 1 { await Task.yield() }
    waiting.cancel()
    await #expect(throws: CancellationError.self) { try await waiting.value }
    #expect(await turns.waitingCount == 0)
  }
}
