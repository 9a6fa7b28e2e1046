import Foundation
import GDBRemote
import Guest
import HarnessSupport
import Synchronization
import Reporting
import Suites

/// A Group 0 interrupt, raised in the GIC itself while a CPU is in a given world, and TF-A's EL3 handler that
/// must take it (seed 002's cases 7–9). TF-A's qemu platform has no Group 0 interrupt of its own without SDEI:
/// the `group0` stack's TF-A makes SPI 46 one and takes it in `teeharness_group0_handler`
/// (manifests/patches/tfa-group0-handler.patch), which acknowledges it and ends it (`plat_ic_end_of_interrupt`).
enum Group0 {
  static let spi = 46
  static let handler = "teeharness_group0_handler"
  static let end = "plat_ic_end_of_interrupt"

  /// Why a stack cannot run the Group 0 cases, or nil when its TF-A has the handler.
  /// Whether the stack's TF-A has the Group 0 handler, read from its bl31.elf (false without one): known before a
  /// machine runs, for what a Group 0 case needs.
  static func present(_ facts: StackFacts) -> Bool {
    guard let file = facts.images.bl31Elf else { return false }
    return presence.withLock { known in
      if let answer = known[file] { return answer }
      let answer = (try? ELFSymbols(contentsOf: file))?.byName[handler] != nil
      known[file] = answer
      return answer
    }
  }
  private static let presence = Mutex<[URL: Bool]>([:])

  static func unavailable(_ probe: SecureWorldProbe) -> String? {
    if probe.firmware?.byName[handler] != nil { return nil }
    return "this TF-A has no Group 0 interrupt: its qemu platform makes one only with SDEI_SUPPORT=1, whose EL3_EXCEPTION_HANDLING=1 "
      + "sets the GIC's priority mask to 0x80 whenever OP-TEE runs, while OP-TEE leaves its secure timer (INTID 29) at priority 0x80: "
      + "on QEMU 7.2 its FIQ then reads as spurious 1023 for ever (OP-TEE's gic_native_itr_handler, 96,231 times in 29 s) and Linux never "
      + "boots. Run cases 7–9 on `--manifest group0`, whose TF-A makes SPI \(spi) a Group 0 interrupt with an EL3 handler"
  }

  /// Where a Group 0 interrupt raised for `cpu` at `raisedAt` went: the CPU's watched entries after it, the
  /// handler's hits (their `x1`: the interrupt flags, bit 0 set when the normal world was interrupted) and the
  /// INTIDs ended.
  struct Taken {
    var trail: [WatchHit]
    var handled: [WatchHit]
    var ended: [UInt64]
    init(_ log: [WatchHit], cpu: Int, after raisedAt: ContinuousClock.Instant) {
      trail = log.filter { $0.cpu == cpu && $0.at >= raisedAt }
      handled = log.filter { $0.name == Group0.handler && $0.at >= raisedAt }
      ended = log.filter { $0.name == Group0.end && $0.at >= raisedAt }.compactMap(\.argument)
    }
    /// The handler's hits on `cpu` that interrupted the normal world.
    func fromNormalWorld(on cpu: Int) -> [WatchHit] { handled.filter { $0.cpu == cpu && ($0.argument ?? 0) & 1 == 1 } }
    var description: String { trail.map(\.name).joined(separator: " → ") }
  }

  /// Raises SPI 46 for a CPU chosen at a stop in the secure world (`target`: given the stopped CPU and where every
  /// CPU is, the CPU to raise it for, or nil to wait for the next stop) and waits, within `bound`, until TF-A's
  /// handler has run; returns the watch's log, the CPU raised for and when.
  /// `points` are watched too (addresses by the names to log them by); `prompt` brings a CPU to `stop` once the
  /// watch waits there; `decided` tells from what the raised CPU executed since (its trail) that the case is
  /// decided before the handler runs (a failure seen: no need to wait for a handler that will not come).
  static func raise(_ t: TestContext, probe: SecureWorldProbe, watching symbols: [String], points: [UInt64: String] = [:],
    at stop: String? = nil, prompt: (@Sendable () async throws -> Void)? = nil, bound: Double,
    decided: @escaping @Sendable ([WatchHit]) -> Bool = { _ in false },
    target: @escaping @Sendable (CPUStop, [CPUStop]) -> Int?) async throws
    -> (log: [WatchHit], cpu: Int, at: ContinuousClock.Instant, deadEnd: SecureDeadEnd?)
  {
    // A TF-A that never ends an interrupt in EL3 may not link plat_ic_end_of_interrupt at all.
    let ends = (try? probe.address(of: end)) != nil
    var named = points, arguments = [try probe.address(of: handler): "x1"]
    for symbol in [handler] + (ends ? [end] : []) + symbols { named[try probe.address(of: symbol)] = symbol }
    if ends { arguments[try probe.address(of: end)] = "x0" }
    // A CPU that reaches a dead end after the raise ends the watch: its log still decides the case.
    let raisedAt = Mutex<(Int, ContinuousClock.Instant)?>(nil)
    do {
      let (log, (cpu, at)) = try await probe.watching(points: named, arguments: arguments) { watch in
        let raised = try await watch.whenStopped(at: stop, deadline: .after(.seconds(15)), prompt: prompt) { (stopped: CPUStop) -> (Int, ContinuousClock.Instant)? in
          guard stopped.secure, stopped.exceptionLevel == 1 else { return nil }
          guard let cpu = target(stopped, try await probe.cpuStates(deadline: .after(.seconds(5)))) else { return nil }
          let gicd = try await probe.gicDistributor(deadline: .after(.seconds(5)))
          let group = try await probe.group(of: spi, distributor: gicd, deadline: .after(.seconds(5)))
          guard group == .group0 else {
            throw TestFailure(message: "INTID \(spi) is \(group.rawValue) in the GIC distributor, not Group 0: TF-A did not make it the Group 0 interrupt its handler takes")
          }
          guard try await probe.raise(spi: spi, on: cpu, distributor: gicd, deadline: .after(.seconds(5))) else {
            throw HarnessError("INTID \(spi) set pending through OP-TEE's GIC mapping does not read back pending")
          }
          // Kept at once: the machine runs on from here, and a dead end may come before this body's caller resumes.
          let raised = (cpu, ContinuousClock.now)
          raisedAt.withLock { $0 = raised }
          return raised
        }
        // Waited for on the host: a CPU whose interrupt was never ended takes no other, and the guest's shell may
        // be on it.
        let due = Deadline.after(.seconds(max(bound * 2, 2)))
        while !due.hasPassed {
          let (taken, ended) = (await watch.hits(of: handler), await watch.hits(of: end))
          if taken > 0 && (ended > 0 || !ends) { break }
          if decided(await watch.log.filter { $0.cpu == raised.0 && $0.at >= raised.1 }) { break }
          try await Task.sleep(for: .milliseconds(20))
        }
        return raised
      }
      return (log, cpu, at, nil)
    } catch let end as SecureDeadEnd {
      guard let (cpu, at) = raisedAt.withLock({ $0 }) else { throw end }
      return (end.log, cpu, at, end)
    }
  }

  /// A case's failure, and the dead end a CPU reached after it (which spoils the machine), in one.
  static func fail(_ failure: String?, then deadEnd: SecureDeadEnd?, spoils: Bool) throws {
    if let deadEnd {
      throw TestFailure(message: failure.map { "\($0); then \(deadEnd)" } ?? deadEnd.description, spoilsMachine: true)
    }
    if let failure { throw TestFailure(message: failure, spoilsMachine: spoils) }
  }
}

/// Case 9: a Group 0 interrupt raised for a CPU that is in Linux goes straight to TF-A's EL3 handler on that CPU,
/// from the normal world, without entering OP-TEE.
func group0InNormalWorld(_ t: TestContext, bounds: SecureConsoleBounds, table: RoutingLog) async throws {
  let probe = try t.optee.probe(), route = t.optee.route
  if let reason = Group0.unavailable(probe) { try await Group0.skip(t, .group0InNormal, reason, table: table) }
  // Stopped at OP-TEE's next interrupt on one CPU, the interrupt is raised for another that is in the normal world.
  let (log, cpu, at, deadEnd) = try await Group0.raise(t, probe: probe, watching: route.entrySymbols, bound: bounds.maxSeconds) { stopped, cpus in
    cpus.first { $0.cpu != stopped.cpu && !$0.secure }?.cpu
  }
  let taken = Group0.Taken(log, cpu: cpu, after: at)
  let latency = taken.handled.first.map { ($0.at - at).seconds }
  t.note("INTID \(Group0.spi) (Group 0) raised for CPU \(cpu), in the normal world: then on CPU \(cpu): \(taken.description); \(Group0.handler) ran \(taken.handled.count) times\(latency.map { " (\($0.formatted(decimals: 3)) s after)" } ?? ""), ended INTIDs \(taken.ended)")
  var failure: String?
  if taken.handled.isEmpty {
    failure = "a Group 0 interrupt (INTID \(Group0.spi)) raised for CPU \(cpu) in the normal world never reached TF-A's \(Group0.handler) in EL3; CPU \(cpu) executed: \(taken.description.isEmpty ? "nothing watched" : taken.description)"
  } else if taken.fromNormalWorld(on: cpu).count != 1 || taken.handled.count != 1 {
    failure = "TF-A's \(Group0.handler) should run once, on CPU \(cpu), interrupting the normal world (its flags' bit 0): it ran \(taken.handled.map { "on CPU \($0.cpu) with flags 0x\(String($0.argument ?? 0, radix: 16))" }.joined(separator: ", "))"
  } else if let entered = taken.trail.prefix(while: { $0.name != Group0.handler }).first(where: { route.entrySymbols.contains($0.name) }) {
    failure = "the Group 0 interrupt went through OP-TEE (\(entered.name)) before TF-A's handler: \(taken.description)"
  } else if taken.ended != [UInt64(Group0.spi)] {
    failure = Group0.notEnded(ended: taken.ended, probe: probe)
  } else if (latency ?? .infinity) > bounds.maxSeconds {
    failure = "TF-A's handler took the Group 0 interrupt \(latency ?? .infinity) s after it was raised (bound \(bounds.maxSeconds.formatted(decimals: 2)) s)"
  }
  try await Group0.conclude(t, .group0InNormal, handledBy: "TF-A \(Group0.handler), from the normal world", taken: taken, latency: latency,
    bound: bounds.maxSeconds, failure: failure, deadEnd: deadEnd, table: table)
}

/// Case 8: a Group 0 interrupt raised for the CPU on which a TA runs (stopped in one of its system calls, where
/// OP-TEE has foreign interrupts unmasked) is foreign to OP-TEE: it takes it at its FIQ vector, returns to the
/// normal world (thread_foreign_intr_exit), and only there does TF-A's EL3 handler take it.
func group0InSecureWorld(_ t: TestContext, bounds: SecureConsoleBounds, table: RoutingLog) async throws {
  let probe = try t.optee.probe(), route = t.optee.route
  if let reason = Group0.unavailable(probe) { try await Group0.skip(t, .group0InSecure, reason, table: table) }
  let fiq = "elx_fiq", exit = "thread_foreign_intr_exit"
  let spin = try await t.client.start(1, "spin", ms: 3000, tag: "group0-spin", cpu: 0)
  try await t.client.waitUntilInvoking(spin, count: 1)
  let (log, cpu, at, deadEnd) = try await Group0.raise(t, probe: probe, watching: route.entrySymbols + [fiq, exit], at: "syscall_get_time",
    bound: bounds.maxSeconds) { stopped, _ in stopped.cpu }
  let taken = Group0.Taken(log, cpu: cpu, after: at)
  let latency = taken.handled.first.map { ($0.at - at).seconds }
  t.note("INTID \(Group0.spi) (Group 0) raised for CPU \(cpu), stopped in a TA's system call (syscall_get_time): then on CPU \(cpu): \(taken.description); \(Group0.handler) ran \(taken.handled.count) times\(latency.map { " (\($0.formatted(decimals: 3)) s after)" } ?? ""), ended INTIDs \(taken.ended)")
  let names = taken.trail.map(\.name)
  let order = [fiq, exit, Group0.handler].map { names.firstIndex(of: $0) }
  var failure: String?
  if taken.handled.isEmpty {
    failure = "a Group 0 interrupt (INTID \(Group0.spi)) raised for CPU \(cpu) in the secure world never reached TF-A's \(Group0.handler); CPU \(cpu) executed: \(taken.description.isEmpty ? "nothing watched" : taken.description)"
  } else if order.contains(nil) || order != order.sorted(by: { ($0 ?? 0) < ($1 ?? 0) }) {
    failure = "the Group 0 interrupt should be foreign to OP-TEE: taken at its FIQ vector (\(fiq)), OP-TEE returning to the normal world (\(exit)), then TF-A's \(Group0.handler) in EL3; CPU \(cpu) executed: \(taken.description)"
  } else {
    failure = Group0.onceOPTEELeft(taken, cpu: cpu, latency: latency, bound: bounds.maxSeconds, probe: probe)
  }
  // The call is looked at only once the interrupt is judged: a CPU left with an interrupt active takes no other.
  if failure == nil && deadEnd == nil {
    let timeline = try await t.client.finish(spin, timeout: .seconds(30))
    if !(timeline.isComplete && timeline.failures.isEmpty) {
      failure = "the spinning call did not come back whole after OP-TEE left it for the Group 0 interrupt: \(timeline.failures.map(\.result))"
    }
  }
  try await Group0.conclude(t, .group0InSecure, handledBy: "TF-A \(Group0.handler), after OP-TEE's \(fiq) → \(exit)", taken: taken,
    latency: latency, bound: bounds.maxSeconds, failure: failure, deadEnd: deadEnd, table: table)
}

/// Case 8, nested (optee_os#6010): a Group 0 interrupt raised while OP-TEE handles a Secure Group 1 one (the
/// secure UART's, stopped in `console_itr_cb`) must wait until OP-TEE's handling of it is over — until
/// `interrupt_main_handler`, which ends the interrupt in the GIC (EOI) on its way out, has returned to the entry
/// that called it: OP-TEE keeps foreign interrupts masked until then. Only afterwards, OP-TEE back in the normal
/// world (from EL3's handover at once, from a thread through its foreign-interrupt exit), may TF-A's EL3 handler
/// take it, once, and end it. A stack that lets it in earlier (once the EOI lowered the CPU's running priority)
/// starts on it before finishing the interrupt it was handling.
func group0DuringSecureHandler(_ t: TestContext, bounds: SecureConsoleBounds) async throws {
  let probe = try t.optee.probe(), route = t.optee.route
  if let reason = Group0.unavailable(probe) { try t.skip(reason) }
  let native = "console_itr_cb"
  // Where OP-TEE's handling of a native interrupt ends: past each of its entries' call of interrupt_main_handler,
  // which ends the interrupt (EOI) before it returns.
  var found: [UInt64: String] = [:]
  for entry in [route.handedEntry, InterruptPath.secureIRQ] {
    for back in try probe.tee.returns(from: entry, callingTo: "interrupt_main_handler") { found[back] = "\(entry)'s interrupt_main_handler returned" }
  }
  let ends = found
  guard !ends.isEmpty else {
    throw HarnessError("\(probe.tee.file) has no call of interrupt_main_handler in \(route.handedEntry) or \(InterruptPath.secureIRQ): where OP-TEE's native handling ends is unknown")
  }
  let entries = route.entrySymbols + [InterruptPath.foreignFIQ, InterruptPath.foreignExit]
  // An entry into OP-TEE (or TF-A's handler) before its handling of INTID 40 returned: the Group 0 interrupt
  // preempted it.
  let preempting: @Sendable ([WatchHit]) -> WatchHit? = { trail in
    trail.prefix { !ends.values.contains($0.name) }.first { entries.contains($0.name) || $0.name == Group0.handler }
  }
  let (log, cpu, at, deadEnd) = try await Group0.raise(t, probe: probe, watching: entries + [native], points: ends, at: native,
    prompt: { try await probe.pokeUntilCancelled() }, bound: bounds.maxSeconds, decided: { preempting($0) != nil }) { stopped, _ in stopped.cpu }
  let taken = Group0.Taken(log, cpu: cpu, after: at)
  let latency = taken.handled.first.map { ($0.at - at).seconds }
  let came = log.filter { $0.cpu == cpu && $0.at < at }.last { route.entrySymbols.contains($0.name) }?.name ?? "an entry not seen"
  t.note("INTID \(Group0.spi) (Group 0) raised for CPU \(cpu) while it ran OP-TEE's \(native) (the secure UART's interrupt, entered through \(came)): then on CPU \(cpu): \(taken.description); \(Group0.handler) ran \(taken.handled.count) times\(latency.map { " (\($0.formatted(decimals: 3)) s after)" } ?? ""), ended INTIDs \(taken.ended)")
  let returned = taken.trail.contains { ends.values.contains($0.name) }
  var failure: String?
  if let early = preempting(taken.trail) {
    failure = "the Group 0 interrupt preempted OP-TEE's handler of the Secure Group 1 one: CPU \(cpu) reached \(early.name) before OP-TEE's handling of INTID 40 (\(native)) returned from interrupt_main_handler (optee_os#6010: a native interrupt's handling must end before a foreign interrupt is taken); CPU \(cpu) executed: \(taken.description)"
  } else if !returned {
    let at = (try? await probe.whereCPUsAre(deadline: .after(.seconds(5))))?.first { $0.hasPrefix("CPU \(cpu) ") }
    let spins = at.map { $0.contains("_sp1") && ($0.contains("fiq") || $0.contains("irq")) } ?? false
    failure = "OP-TEE's handling of INTID 40 (\(native)) never returned from interrupt_main_handler on CPU \(cpu) once a Group 0 interrupt was raised for it: \(at ?? "where CPU \(cpu) is could not be read")"
      + (spins ? " — OP-TEE's vector for an interrupt taken inside its own exception handler, where it spins: the Group 0 interrupt preempted its native handler (optee_os#6010)" : "")
  } else if taken.handled.isEmpty {
    failure = "a Group 0 interrupt (INTID \(Group0.spi)) raised while CPU \(cpu) ran OP-TEE's \(native) never reached TF-A's \(Group0.handler) after it returned; CPU \(cpu) executed: \(taken.description)"
  } else {
    failure = Group0.onceOPTEELeft(taken, cpu: cpu, latency: latency, bound: bounds.maxSeconds, probe: probe)
  }
  t.measure(Measured("raised in OP-TEE's native handler → TF-A's Group 0 handler", unit: "s", samples: latency.map { [$0] } ?? [], bound: bounds.maxSeconds))
  // A CPU that took an interrupt and never ended it, or that never finished handling one, takes no other.
  try Group0.fail(failure, then: deadEnd, spoils: failure?.hasPrefix(Group0.notEndedPrefix) == true || !returned)
}

/// Case 7: a Group 0 interrupt raised while CPU 0 is held in EL3 (TF-A taking a yielding call into OP-TEE) waits
/// there, EL3 running with interrupts masked; let go, CPU 0 must take it in TF-A's EL3 handler — straight away if
/// it is back in the normal world first, or after OP-TEE, for which it is foreign, returned there — and end it.
func group0InEL3(_ t: TestContext, bounds: SecureConsoleBounds, table: RoutingLog) async throws {
  let probe = try t.optee.probe(), route = t.optee.route
  if let reason = Group0.unavailable(probe) { try await Group0.skip(t, .group0InEL3, reason, table: table) }
  let ends = (try? probe.address(of: Group0.end)) != nil
  let gicd = SecureWorldProbe.gicdPhysical
  let seen: AfterEL3, prompt: GuestCalls
  do {
    (seen, prompt) = try await probe.afterHeldInEL3(cpu: 0, at: route.smcHandler, entering: route.entersOPTEE,
      symbols: route.entrySymbols + ["elx_fiq", "thread_foreign_intr_exit", Group0.handler], until: ends ? Group0.end : Group0.handler,
      // The handler ends the interrupt at once: a handler that does not leaves CPU 0 deaf, and Linux locks up.
      orAfter: ends ? (Group0.handler, .seconds(max(bounds.maxSeconds, 1))) : nil, deadline: .after(.seconds(30)), prompt: { try await t.client.start(1, "return", tag: "el3-group0", cpu: 0) }) { _ in
      // CPU 0, in EL3, stores to the distributor itself through one of TF-A's own instructions.
      let group = try await probe.group(of: Group0.spi, distributor: gicd, deadline: .after(.seconds(5)))
      guard group == .group0 else {
        throw TestFailure(message: "INTID \(Group0.spi) is \(group.rawValue) in the GIC distributor, not Group 0: TF-A did not make it the Group 0 interrupt its handler takes")
      }
      guard try await probe.raise(spi: Group0.spi, on: 0, distributor: gicd, inEL3: true, deadline: .after(.seconds(5))) else {
        throw HarnessError("INTID \(Group0.spi) set pending by CPU 0 in EL3 does not read back pending")
      }
    }
  } catch let late as DeadlineExceeded {
    let failure = "a Group 0 interrupt (INTID \(Group0.spi)) raised while CPU 0 was held in TF-A's \(route.smcHandler) never brought CPU 0 to TF-A's \(Group0.handler)\(ends ? " and \(Group0.end)" : "") once let go: \(late.description)"
    await table.record(RoutingRow(.group0InEL3, handler: "TF-A \(Group0.handler)", count: 0, verdict: "FAILED: \(failure)"))
    throw TestFailure(message: failure)
  }
  let trail = seen.log.map(\.name)
  t.note("CPU 0 held at \(route.smcHandler) (call 0x\(String(seen.call, radix: 16))) while INTID \(Group0.spi) (Group 0) was raised for it; let go, it executed \(InterruptPath.trail(trail))")
  var failure: String?
  if trail.filter({ $0 == Group0.handler }).count != 1 {
    failure = "TF-A's \(Group0.handler) should run once on CPU 0 after it left EL3: it executed \(InterruptPath.trail(trail))"
  } else if !ends || !trail.contains(Group0.end) {
    failure = Group0.notEnded(ended: [], probe: probe)
  }
  // The call is looked at only once the interrupt is judged: a CPU left with an interrupt active takes no other.
  if failure == nil {
    let prompted = try await t.client.finish(prompt, timeout: .seconds(20))
    if !(prompted.isComplete && prompted.failures.isEmpty) {
      failure = "the call CPU 0 was taking into OP-TEE did not come back whole: \(prompted.failures.map(\.result))"
    }
  }
  await table.record(RoutingRow(.group0InEL3, handler: "TF-A \(Group0.handler), once CPU 0 left EL3 (\(InterruptPath.trail(trail)))", count: 1,
    verdict: failure.map { "FAILED: \($0)" } ?? "passed"))
  if let failure { throw TestFailure(message: failure, spoilsMachine: failure.hasPrefix(Group0.notEndedPrefix)) }
}

extension Group0 {
  /// Ends a case: its latency kept, its row in the routing table, the test failed with `failure` if any.
  static func conclude(_ t: TestContext, _ c: RoutingCase, handledBy: String, taken: Taken, latency: Double?, bound: Double,
    failure: String?, deadEnd: SecureDeadEnd? = nil, table: RoutingLog) async throws
  {
    t.measure(Measured("raised → TF-A's Group 0 handler, CPU in the \(c.world.rawValue)", unit: "s", samples: latency.map { [$0] } ?? [], bound: bound))
    let failed = failure ?? deadEnd?.description
    await table.record(RoutingRow(c, handler: handledBy, count: taken.handled.count,
      verdict: failed.map { "FAILED: \($0)" } ?? "passed (\(latency.map { "\($0.formatted(decimals: 3)) s" } ?? ""))"))
    try fail(failure, then: deadEnd, spoils: failure?.hasPrefix(notEndedPrefix) == true)
  }

  /// What a case asks once OP-TEE, for which the interrupt is foreign, has gone back to the normal world: TF-A's
  /// handler ran once, on `cpu`, interrupting the normal world (its flags' bit 0); it ended INTID 46; in time.
  /// Nil when all hold.
  static func onceOPTEELeft(_ taken: Taken, cpu: Int, latency: Double?, bound: Double, probe: SecureWorldProbe) -> String? {
    if taken.fromNormalWorld(on: cpu).count != 1 || taken.handled.count != 1 {
      return "TF-A's \(handler) should run once, on CPU \(cpu), once OP-TEE had returned to the normal world (flags' bit 0): it ran \(taken.handled.map { "on CPU \($0.cpu) with flags 0x\(String($0.argument ?? 0, radix: 16))" }.joined(separator: ", "))"
    }
    if taken.ended != [UInt64(spi)] { return notEnded(ended: taken.ended, probe: probe) }
    if (latency ?? .infinity) > bound {
      return "TF-A's handler took the Group 0 interrupt \(latency ?? .infinity) s after it was raised (bound \(bound.formatted(decimals: 2)) s)"
    }
    return nil
  }

  /// How the failure of a handler that did not end its interrupt begins: the CPU it took it on takes no
  /// interrupt again, and the machine is no use to the next test.
  static let notEndedPrefix = "TF-A's \(handler) took the Group 0 interrupt but did not end INTID"

  /// The failure of a handler that did not end the interrupt it took.
  static func notEnded(ended: [UInt64], probe: SecureWorldProbe) -> String {
    let why = (try? probe.address(of: end)) == nil
      ? "bl31.elf has no \(end): nothing in it ends an interrupt in EL3"
      : "\(end) ended \(ended.isEmpty ? "none" : ended.map { "INTID \($0)" }.joined(separator: ", "))"
    return "\(notEndedPrefix) \(spi) (\(why)): it stays active at the highest priority, and no interrupt reaches that CPU again"
  }

  /// Skips a case the stack cannot run, with the reason in the routing table too.
  static func skip(_ t: TestContext, _ c: RoutingCase, _ reason: String, table: RoutingLog) async throws -> Never {
    await table.record(RoutingRow(c, handler: "-", count: nil, verdict: "skipped: \(reason)"))
    try t.skip(reason)
  }
}
