import Foundation
import GDBRemote
import Guest
import HarnessSupport
import Reporting
import Suites

/// Secure Group 1 raised in the GIC itself while every OP-TEE thread is busy (seed 000's question: an interrupt
/// with no thread free).
/// One interrupt made pending: when, on which CPU's stop, how many threads were busy then.
struct Injection: Sendable {
  var at: ContinuousClock.Instant
  var cpu: Int
  var busy: Int
}

/// Successive stops that found something so, and since when.
actor Stops {
  private var first: ContinuousClock.Instant?
  private var count = 0
  /// One more such stop: how many in a row, over how many seconds.
  func add() -> (Int, Double) {
    first = first ?? .now
    count += 1
    return (count, (ContinuousClock.now - first!).seconds)
  }
  func reset() { (first, count) = (nil, 0) }
}

func injectedWhileEveryThreadIsBusy(_ t: TestContext, bounds: SecureConsoleBounds) async throws {
  // Every thread SUSPENDED in a wait. Each round stops a CPU where it enters OP-TEE and, through OP-TEE's own
  // (secure) mapping of the GIC distributor, sets the secure console's interrupt pending with no byte behind
  // it — raised in the GIC itself, not by its device. Nothing else raises it meanwhile (nobody types), so
  // each injection must run console_itr_cb exactly once, by whichever path the CPU's state calls for, with
  // no thread free: a top half needs none.
  let probe = try t.optee.probe(), route = t.optee.route
  let n = try t.optee.threads(), ms = 6000, rounds = 4, uart = Interrupts.secureUARTIntid
  // Where to stop: OP-TEE's interrupt handler, entered every second by its test watchdog's timer; without one,
  // where it takes a standard call — over FF-A a direct request enters OP-TEE even with every thread busy
  // (it is answered TEE_ERROR_BUSY), while the SMC stack's driver holds the call in Linux.
  let prompted = !probe.periodicEntry
  if prompted && t.facts.transport != .ffa {
    try t.skip("this stack has no periodic secure interrupt (OP-TEE's test watchdog) to stop OP-TEE at while every thread is busy, and its driver makes no call into OP-TEE then")
  }
  let alreadyPending = Stops()
  let calls = try await t.client.start(n, "wait", ms: ms, tag: "busy-injected")
  try await t.client.waitUntilInvoking(calls, count: n)
  let invoking = ContinuousClock.now, onConsole = t.secureConsole.clock()
  let (log, (injections, prompts, unhandled, watchEnded)) = try await probe.watching(route.handoverSymbols + ["console_itr_cb"], after: route.watchedAfter) { watch in
    var injections: [Injection] = [], prompts: [GuestCalls] = [], unhandled: SPIState?
    for round in 1...rounds {
      let before = await watch.hits(of: "console_itr_cb")
      // A prompt's call waits in Linux's driver for a free thread once OP-TEE has answered it busy: it ends after the waits.
      if prompted { prompts.append(try await t.client.start(1, "return", tag: "prompt-\(round)", cpu: round % 2)) }
      let injected: Injection
      do {
        injected = try await watch.whenStopped(at: prompted ? probe.standardCallEntry : nil, deadline: .after(.seconds(5))) { (cpu: CPUStop) -> Injection? in
          guard cpu.secure else { return nil }
          let gicd = try await probe.gicDistributor(deadline: .after(.seconds(5)))
          // A stop for the console's own interrupt (pending or active already) is no place to raise it again; one
          // that stays so over several entries into OP-TEE is a finding of its own: OP-TEE does not take it.
          let state = try await probe.spiState(uart, distributor: gicd, deadline: .after(.seconds(5)))
          guard !state.pending && !state.active else {
            let (stops, over) = await alreadyPending.add()
            try t.require(stops < 3 || over < 1, breaks: state.enabled ? nil : .secureUARTInterrupt,
              "INTID \(uart), the secure console's interrupt, was already \(state.explained) in the GIC distributor at \(stops) entries into OP-TEE over \(over.formatted(decimals: 1)) s, before any was raised: OP-TEE does not take it")
            return nil
          }
          await alreadyPending.reset()
          let busy = try await probe.readThreadTable(deadline: .after(.seconds(5))).count { !$0.isFree }
          guard try await probe.setPending(spi: uart, distributor: gicd, deadline: .after(.seconds(5))) else {
            throw HarnessError("INTID \(uart) set pending through OP-TEE's GIC mapping does not read back pending")
          }
          return Injection(at: ContinuousClock.now, cpu: cpu.cpu, busy: busy)
        }
      } catch let timeout as DeadlineExceeded {
        // No CPU entered OP-TEE while every thread was busy: when EL3 took secure interrupts meanwhile and handed
        // none over, that is the link that broke.
        let seen = await watch.log
        let (taken, handed, _) = route.handovers(in: seen, ended: .now, settle: .seconds(t.pace.scaled(1)))
        try t.require(taken == handed, breaks: handed == 0 ? .handover : nil,
          "with every thread busy, no CPU entered OP-TEE within 5 s to raise INTID \(uart) at, and \(route.el3Handler) took \(taken) secure interrupts from the normal world but only \(handed) reached OP-TEE's \(route.handedEntry) (\(route.handover)) right after",
          details: EventTimeline(EventTimeline.hits(seen, onConsole)).details("breakpoint hits while every thread was busy"))
        throw timeout
      }
      injections.append(injected)
      // An injection not handled in time decides the test (the next would only add to a storm or a hang): what
      // the GIC says of it then tells why.
      guard try await t.poll(within: .seconds(bounds.maxSeconds * 2), { await watch.hits(of: "console_itr_cb") > before }) else {
        unhandled = try? await watch.whenStopped(at: prompted ? probe.standardCallEntry : nil, deadline: .after(.seconds(5))) { (cpu: CPUStop) -> SPIState? in
          guard cpu.secure else { return nil }
          return try await probe.spiState(uart, distributor: try await probe.gicDistributor(deadline: .after(.seconds(5))), deadline: .after(.seconds(5)))
        }
        break
      }
    }
    // The watch's end for judging what it saw: its body's (taking the breakpoints out comes after).
    return (injections, prompts, unhandled, ContinuousClock.now)
  }
  // Each injection's handling: the first console_itr_cb after it (before the next one).
  let ends: [ContinuousClock.Instant] = injections.dropFirst().map(\Injection.at) + [watchEnded]
  let handlerHits: [WatchHit] = log.filter { $0.name == "console_itr_cb" }
  var handled: [[WatchHit]] = []
  for (injection, end) in zip(injections, ends) {
    handled.append(handlerHits.filter { $0.at > injection.at && $0.at < end })
  }
  let latencies = zip(injections, handled).compactMap { injection, hits in hits.first.map { ($0.at - injection.at).seconds } }
  let paths = route.paths(of: "console_itr_cb", in: log)
  let (taken, handedOver, _) = route.handovers(in: log, ended: watchEnded, settle: .seconds(t.pace.scaled(1)))
  t.measure(Measured("injected → console_itr_cb", unit: "s", samples: latencies, bound: bounds.maxSeconds))
  t.note("\(n) threads busy (\(injections.map { "\($0.busy)" }.joined(separator: ", ")) of them at each injection, stopped on CPU \(injections.map { "\($0.cpu)" }.joined(separator: ", "))): \(injections.count) injections of INTID \(uart) ran console_itr_cb \(handled.map { "\($0.count)" }.joined(separator: ", ")) times, after \(spread(latencies)); \(InterruptPath.summary(paths)); \(route.el3Handler) took \(taken) from the normal world, \(handedOver) handed to OP-TEE's \(route.handedEntry); the waits \((ContinuousClock.now - invoking).seconds.formatted(decimals: 1)) s")
  try t.require(taken == handedOver, breaks: handedOver == 0 ? .handover : nil,
    "with every thread busy, \(route.el3Handler) took \(taken) secure interrupts from the normal world but only \(handedOver) reached OP-TEE's \(route.handedEntry) (\(route.handover)) right after",
    details: EventTimeline(EventTimeline.hits(log, onConsole)).details("breakpoint hits while every thread was busy"))
  let lost = handled.enumerated().filter { $0.element.isEmpty }.map { $0.offset + 1 }
  try t.require(lost.isEmpty, breaks: unhandled?.enabled == false ? .secureUARTInterrupt : nil,
    "INTID \(uart) raised in the GIC while every thread was busy: injection \(lost.map(String.init).joined(separator: ", ")) of \(injections.count) never ran OP-TEE's console_itr_cb (\(InterruptPath.summary(paths)))\(unhandled.map { "; the distributor then showed it \($0.explained)" } ?? "")")
  let twice = handled.enumerated().filter { $0.element.count > 1 }.map { $0.offset + 1 }
  try t.require(twice.isEmpty, "one injection of INTID \(uart) ran console_itr_cb more than once (injection \(twice.map(String.init).joined(separator: ", "))): the interrupt was not acknowledged")
  // The calls are looked at only once the interrupts' evidence is judged: on a stack that storms, they never end.
  let timeline = try await t.client.finish(calls, timeout: .seconds(30))
  for prompt in prompts { _ = try? await t.client.finish(prompt, timeout: .seconds(30)) }
  try t.require(timeline.isComplete && timeline.failures.isEmpty, "the waiting calls failed: \(timeline.failures.map(\.result))")
  try t.require(injections.allSatisfy { $0.busy == n }, "not every thread was busy at each injection (\(injections.map(\Injection.busy)) of \(n)): the case was not reached")
  let late = latencies.filter { $0 > bounds.maxSeconds }
  try t.require(late.isEmpty, "with every thread busy, INTID \(uart) raised in the GIC reached console_itr_cb late: \(late.map { $0.formatted(decimals: 3) }) s (bound \(bounds.maxSeconds.formatted(decimals: 2)) s)")
}
