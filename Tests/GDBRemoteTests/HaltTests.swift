import Foundation
import HarnessSupport
import Testing

@testable import GDBRemote
import TestSupport

/// The probe's stops, on a simulated machine: whatever happens inside, the stub is left with no breakpoint
/// armed and the machine running.
@Suite struct HaltTests {
  static let handler: UInt64 = 0xe10_0400  // interrupt_main_handler
  static let other: UInt64 = 0xe10_0800

  /// A probe of `target` with OP-TEE's interrupt handler and one other function.
  static func probe(_ target: SimulatedTarget, periodic: Bool = true) async throws -> (SecureWorldProbe, FakeStub) {
    let stub = try await target.stub()
    let layout = try OpteeLayout(parsing: "thread_ctx_size=16\nthread_ctx_state_offset=0\nthread_ctx_state_size=4\nthreads_size=32\nthread_count_size=4\nthread_states=FREE,ACTIVE,SUSPENDED\n")
    let tee = ELFSymbols(file: "tee.elf", functions: [
      "interrupt_main_handler": handler, "other_function": other, "threads": 0xe20_0000, "thread_count": 0xe20_1000,
    ])
    let probe = SecureWorldProbe(rsp: stub.client, tee: tee, layout: layout, periodicEntry: periodic, poke: {})
    return (probe, stub)
  }

  /// Waits until `condition` holds, for at most 5 s.
  static func until(_ what: String, _ condition: @escaping @Sendable () async -> Bool) async throws {
    try await withDeadline(.after(.seconds(5)), what) {
      while await !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }
  }

  static func expectClean(_ target: SimulatedTarget, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) async {
    let clean = await target.settlesClean()
    #expect(clean, "armed: \(target.armedBreakpoints), running: \(target.isRunning); \(comment.map { "\($0)" } ?? "")",
      sourceLocation: sourceLocation)
  }

  @Test func aBreakpointHitInTheSecureWorldRunsTheBodyThere() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 1, pc: 0x4000_1000, nonSecure: true), .init(cpu: 1, pc: Self.handler, el: 1)])
    let (probe, _) = try await Self.probe(target)
    let stop = try await probe.whenStopped { cpu in cpu }
    #expect(stop.cpu == 1 && stop.exceptionLevel == 1 && stop.secure && stop.pc == Self.handler)
    #expect(target.inserted == [Self.handler])
    await Self.expectClean(target)
  }

  @Test func aStopInTheNormalWorldIsRefusedAndLeavesNothingArmed() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.handler, el: 1, nonSecure: true)])
    let (probe, _) = try await Self.probe(target)
    let error = await #expect(throws: HarnessError.self) { try await probe.whenStopped { _ in 1 } }
    #expect("\(error!)".contains("secure memory cannot be read from there") && "\(error!)".contains("EL1 non-secure"))
    await Self.expectClean(target)
  }

  @Test func aBodyThatThrowsOrACPUThatNeverComesLeavesTheStubClean() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.handler)])
    let (probe, _) = try await Self.probe(target)
    struct Boom: Error {}
    await #expect(throws: Boom.self) { try await probe.whenStopped { _ in throw Boom() } }
    await Self.expectClean(target, "a throw inside the body")

    // Nothing scripted: no CPU reaches the handler before the deadline.
    let late = await #expect(throws: DeadlineExceeded.self) {
      try await probe.whenStopped(deadline: Deadline.after(.milliseconds(300))) { _ in 1 }
    }
    #expect(late?.what.contains("no CPU executed interrupt_main_handler (tee.elf) in time") == true)
    await Self.expectClean(target, "a passed deadline")
  }

  @Test func aCancelledWaitLeavesTheStubCleanAtOnce() async throws {
    let target = SimulatedTarget()
    let (probe, _) = try await Self.probe(target)
    let started = ContinuousClock.now
    let waiting = Task { try await probe.whenStopped(deadline: Deadline.after(.seconds(30))) { _ in 1 } }
    try await Self.until("the wait's breakpoint is armed") { target.armedBreakpoints.contains(Self.handler) }
    waiting.cancel()
    let outcome = await waiting.result
    #expect(throws: (any Error).self) { try outcome.get() }
    #expect(ContinuousClock.now - started < .seconds(10), "cancelled, not waited out")
    await Self.expectClean(target, "a cancellation")
  }

  @Test func aWatchCountsHitsAndAnErrorMidWatchLeavesNoBreakpointArmed() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.other), .init(cpu: 1, pc: Self.other), .init(cpu: 0, pc: 0x4000_0000)])
    let (probe, _) = try await Self.probe(target)
    let (log, _) = try await probe.watching(["other_function"]) { watch in
      try await Self.until("both hits are counted") { await watch.hits >= 2 }
    }
    #expect(log.map(\.cpu) == [0, 1] && log.allSatisfy { $0.name == "other_function" })
    await Self.expectClean(target, "a watch that ends")

    // The stub fails while the watch reads the CPU that stopped: the watch fails, and leaves nothing armed.
    target.fail("p21")
    await #expect(throws: RSPError.self) {
      try await probe.watching(["other_function"]) { _ in
        target.reach(.init(cpu: 1, pc: Self.other))
        try await Self.until("the watch gives up its breakpoints") { target.armedBreakpoints.isEmpty }
      }
    }
    await Self.expectClean(target, "a stub error mid-watch")
  }

  /// A point every call runs through is watched only after its trigger: before it the point is not armed (a hit
  /// passes unseen); once armed, a CPU that did not hit the trigger is stepped over it uncounted; each CPU that did
  /// is counted at its first hit, and the point is disarmed once no CPU awaits it. Armed at the watch's end, it
  /// is removed with the rest.
  @Test func aFollowerIsWatchedOnlyForItsFirstHitAfterItsTriggerOnTheSameCPU() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.handler)])
    let (probe, _) = try await Self.probe(target)
    let (log, _) = try await probe.watching(["other_function", "interrupt_main_handler"],
      after: ["interrupt_main_handler": "other_function"]) { watch in
      #expect(!target.armedBreakpoints.contains(Self.handler), "armed before its trigger")
      target.reach(.init(cpu: 1, pc: Self.other))
      try await Self.until("the follower is armed after its trigger") { target.armedBreakpoints.contains(Self.handler) }
      target.reach(.init(cpu: 0, pc: Self.handler), .init(cpu: 1, pc: Self.handler), .init(cpu: 1, pc: Self.handler))
      try await Self.until("the follower is counted") { await watch.hits >= 2 }
      try await Self.until("the follower is disarmed") { !target.armedBreakpoints.contains(Self.handler) }
      // Two CPUs await it: the first one's hit keeps it armed for the second (disarmed, CPU 0's hit would pass
      // unseen).
      target.reach(.init(cpu: 0, pc: Self.other), .init(cpu: 1, pc: Self.other), .init(cpu: 1, pc: Self.handler), .init(cpu: 0, pc: Self.handler))
      try await Self.until("both CPUs' hits are counted") { await watch.hits >= 6 }
      try await Self.until("the follower is disarmed again") { !target.armedBreakpoints.contains(Self.handler) }
      // Armed when the watch ends.
      target.reach(.init(cpu: 1, pc: Self.other))
      try await Self.until("the follower is armed a third time") { target.armedBreakpoints.contains(Self.handler) }
    }
    #expect(log.map { "\($0.name)@\($0.cpu)" } == ["other_function@1", "interrupt_main_handler@1", "other_function@0", "other_function@1",
      "interrupt_main_handler@1", "interrupt_main_handler@0", "other_function@1"])
    await Self.expectClean(target, "a watch that ends with its follower armed")
    await #expect(throws: HarnessError.self) {
      try await probe.watching(["interrupt_main_handler"], after: ["interrupt_main_handler": "other_function"]) { _ in }
    }
    // A follower must be a point itself, and its trigger armed throughout (not a follower of its own).
    await #expect(throws: HarnessError.self) {
      try await probe.watching(points: [Self.other: "other_function"], followers: [Self.handler: Self.other]) { _ in }
    }
    await #expect(throws: HarnessError.self) {
      try await probe.watching(points: [Self.other: "other_function", Self.handler: "interrupt_main_handler"],
        followers: [Self.handler: Self.other, Self.other: Self.handler]) { _ in }
    }
    await Self.expectClean(target, "watches refused before they began")
  }

  /// A request waiting at a follower's address is served there though no CPU hit the follower's trigger.
  @Test func aRequestAtAFollowerIsServedWithoutItsTrigger() async throws {
    let target = SimulatedTarget()
    let (probe, _) = try await Self.probe(target)
    let (log, cpu) = try await probe.watching(["other_function", "interrupt_main_handler"],
      after: ["interrupt_main_handler": "other_function"]) { watch in
      let reach = Task {
        try await Self.until("the request's stop is armed") { target.armedBreakpoints.contains(Self.handler) }
        target.reach(.init(cpu: 1, pc: Self.handler))
      }
      defer { reach.cancel() }
      return try await watch.whenStopped(at: "interrupt_main_handler", deadline: .after(.seconds(5))) { $0.cpu }
    }
    #expect(cpu == 1 && log.isEmpty, "served on CPU \(cpu), logged \(log.map(\.name))")
    await Self.expectClean(target, "a request served at a follower")
  }

  @Test func whatTheBodyDoesAtOnceIsWatched() async throws {
    // The body's stimulus comes at once: the watch must have armed its breakpoints before the body runs, or the
    // first hit passes unseen (and a path into OP-TEE is half logged).
    for round in 1...5 {
      let target = SimulatedTarget()
      target.stopLatency = .milliseconds(50)
      let (probe, _) = try await Self.probe(target)
      let (log, _) = try await probe.watching(["other_function"]) { watch in
        target.reach(.init(cpu: 0, pc: Self.other))
        try await Self.until("the stimulus is counted") { await watch.hits >= 1 }
      }
      #expect(log.count == 1, "round \(round): the stimulus at the body's start was not seen")
      await Self.expectClean(target)
    }
  }

  @Test func theThreadTableIsReadAtTheNextSecureInterruptDuringAWatch() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.other)])
    target.store([2, 0, 0, 0], at: 0xe20_1000)  // thread_count
    target.store([1] + [UInt8](repeating: 0, count: 31), at: 0xe20_0000)  // thread 0 ACTIVE, thread 1 FREE
    let (probe, _) = try await Self.probe(target)
    let (log, table) = try await probe.watching(["other_function"]) { watch in
      // The next secure interrupt comes once the watch has armed OP-TEE's entry for the request.
      let interrupt = Task {
        try await Self.until("the watch arms OP-TEE's entry") { target.armedBreakpoints.contains(Self.handler) }
        target.reach(.init(cpu: 1, pc: Self.handler))
      }
      defer { interrupt.cancel() }
      return try await withDeadline(.after(.seconds(5)), "the thread table") { try await watch.threadTable() }
    }
    #expect(log.count == 1)
    #expect(table.map(\.description) == ["thread 0 ACTIVE", "thread 1 FREE"])
    await Self.expectClean(target)
  }

  /// One stimulus may not bring a CPU to a stop: a request's prompt goes on until the stop comes, and ends with it.
  @Test func aStopsPromptGoesOnUntilTheStopComesAndNoLonger() async throws {
    actor Prompts { var count = 0; func next() -> Int { count += 1; return count } }
    let target = SimulatedTarget()
    let (probe, _) = try await Self.probe(target)
    let prompts = Prompts()
    let (log, (cpu, served, later)) = try await probe.watching(["other_function"]) { watch in
      let cpu = try await watch.whenStopped(at: "other_function", deadline: .after(.seconds(5)), prompt: {
        while true {
          if await prompts.next() == 3 { target.reach(.init(cpu: 1, pc: Self.other)) }
          try await Task.sleep(for: .milliseconds(10))
        }
      }) { stop in stop.cpu }
      // While the watch goes on (its end cancels every prompt anyway): ten prompts' time after, none more came.
      let served = await prompts.count
      try await Task.sleep(for: .milliseconds(100))
      return (cpu, served, await prompts.count)
    }
    #expect(cpu == 1 && log.count == 1)
    #expect(served >= 3)
    // One prompt may have been under way as the stop was served; ten more would be the prompt going on.
    #expect(later <= served + 1, "the prompt went on after its stop was served: \(served) then \(later)")
    await Self.expectClean(target)
  }

  /// A stop leaves its CPU past the symbol's first instruction: a breakpoint armed there next sees the next call.
  @Test func aStopLeavesItsCPUPastTheSymbol() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.other)])
    let (probe, _) = try await Self.probe(target)
    _ = try await probe.whenStopped(at: "other_function") { _ in 1 }
    #expect(target.pc(ofCPU: 0) == Self.other + 4)
    await Self.expectClean(target)
  }

  /// QEMU may end a step before its instruction ran, the PC unmoved: the step is made again, or the CPU would stop
  /// at the breakpoint once more and one pass count twice.
  @Test func aStepThatLeftTheCPUWhereItWasIsMadeAgain() async throws {
    let target = SimulatedTarget(route: [.init(cpu: 0, pc: Self.other)])
    let (probe, _) = try await Self.probe(target)
    target.loseSteps(2)
    _ = try await probe.whenStopped(at: "other_function") { _ in 1 }
    #expect(target.pc(ofCPU: 0) == Self.other + 4)
    await Self.expectClean(target)
  }

  @Test func haltedLooksAtAStoppedMachineAndLetsItGo() async throws {
    let target = SimulatedTarget()
    let (probe, _) = try await Self.probe(target)
    let where1 = try await probe.whereIs(cpu: 1)
    #expect(where1.cpu == 1 && !where1.secure)
    struct Boom: Error {}
    await #expect(throws: Boom.self) {
      try await probe.rsp.halted(deadline: .after(.seconds(5))) { halt in
        try await halt.arm(Self.other, deadline: .after(.seconds(5)))
        throw Boom()
      }
    }
    await Self.expectClean(target, "a breakpoint armed inside a halt that throws")
  }
}
