import Foundation
import GDBRemote
import HarnessSupport
import Suites

/// OP-TEE's asynchronous notifications end to end: a top half in secure interrupt context raises the
/// notification interrupt, Linux counts it and makes a yielding call, and the bottom half runs in a thread.
public let asyncNotificationsSuite = makeAsyncNotificationsSuite()

public func makeAsyncNotificationsSuite(bounds: SecureConsoleBounds = SecureConsoleBounds()) -> Suite {
  Suite("async-notifications", "top half → notification interrupt → bottom-half yielding call",
    unsupported: { facts in
      switch facts.asyncNotifications {
      case true: nil
      case false: "OP-TEE is built with CFG_CORE_ASYNC_NOTIF=n: it raises no notification interrupt"
      case nil: facts.unknown("CFG_CORE_ASYNC_NOTIF")
      }
    })
  {
    Test("discovery: the device tree, the driver and /proc/interrupts agree on the notification interrupt") { t in
      let intid = t.facts.optee.integer("CFG_CORE_ASYNC_NOTIF_GIC_INTID") ?? 219
      let cells = try await t.run("hexdump -ve '1/1 \"%02x\"' /sys/firmware/devicetree/base/firmware/optee/interrupts").output
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let dt = NotificationInterrupt(deviceTreeCells: cells)
      let driver = try await t.run("dmesg | grep -E 'optee: .*[Nn]otification'").lines
      let listed = try await t.interruptLine(matching: "optee_notification")
      let secureSaid = await t.secure.linesSinceBoot().contains { $0.text.contains("Asynchronous notifications are enabled") }
      t.note("device tree /firmware/optee interrupts = \(cells) → \(dt.map { "INTID \($0.intid), \($0.edge ? "edge" : "level")" } ?? "unreadable")")
      t.note("driver: \(driver.joined(separator: " | ")); /proc/interrupts: \(listed.name)")
      try t.require(dt?.intid == intid, "the device tree's notification interrupt is \(dt.map { "INTID \($0.intid)" } ?? cells), OP-TEE was built with \(intid)")
      try t.require(driver.contains { $0.contains("Asynchronous notifications enabled") }, "the driver did not log that asynchronous notifications are enabled", details: driver.joined(separator: "\n"))
      try t.require(listed.name.contains("\(intid)"), "/proc/interrupts does not list optee_notification on \(intid): \(listed.name)")
      try t.require(secureSaid, "OP-TEE never said 'Asynchronous notifications are enabled' on the secure console")
    }

    Test("a byte typed at the secure console: top half, one more notification, bottom half, in order", timeout: .seconds(120)) { t in
      let probe = try t.secureWorldProbe()
      let text = "notify0123"
      // Linux's count is read inside the watch, so both count over (nearly) the same window.
      let (log, (typed, before, after)) = try await probe.watching(["console_itr_cb", "yielding_console_notif", "test_wd_callback", "notif_send_async"]) { _ in
        let before = try await t.interruptLine(matching: "optee_notification").counts.reduce(0, +)
        let typed = try await t.typeSecureOneByOne(text)
        return (typed, before, try await t.interruptLine(matching: "optee_notification").counts.reduce(0, +))
      }
      let onConsole = t.secureClock()
      let chains = NotificationChain.chains(typed: typed,
        topHalves: log.filter { $0.name == "console_itr_cb" }.map { onConsole($0.at) },
        bottomHalves: log.filter { $0.name == "yielding_console_notif" }.map { onConsole($0.at) })
      let topHalves = log.count { $0.name == "console_itr_cb" }
      let watchdog = log.count { $0.name == "test_wd_callback" }
      let sent = log.count { $0.name == "notif_send_async" }
      t.note("\(text.count) bytes: \(topHalves) top halves, OP-TEE sent \(sent) notifications (the watchdog fired \(watchdog) times meanwhile), Linux counted +\(after - before), \(log.count { $0.name == "yielding_console_notif" }) bottom halves")
      t.note("typed → top half \(spread(chains.compactMap(\.toTopHalf))); top half → bottom half \(spread(chains.compactMap(\.toBottomHalf))); bottom half → byte printed \(spread(chains.compactMap(\.toPrinted)))")
      try t.require(typed.problems.isEmpty, "bytes typed at the secure console were not each read once, in order: \(typed.problems.joined(separator: "; "))")
      // A byte that a watchdog bottom half reads before its own interrupt is taken has no top half of its own — a
      // rare overlap (the UART interrupt is level-triggered). More than one in five means the bytes are being
      // picked up by the watchdog, not by their interrupt.
      let spared = min(watchdog, text.count / 5)
      try t.require(topHalves >= text.count - spared && topHalves <= text.count,
        "\(text.count) bytes ran the console's top half \(topHalves) times (one each, but for at most \(spared) a watchdog bottom half read first; the watchdog ran \(watchdog) times): the bytes were not delivered by their own interrupt")
      let latencies = typed.latencies.compactMap { $0 }
      try t.require((median(latencies) ?? .infinity) <= bounds.medianSeconds,
        "typed → read took \(typed.latencySummary) (bound median \(bounds.medianSeconds) s): something periodic picked the bytes up, not their interrupt")
      let broken = chains.filter { !$0.isComplete && $0.toTopHalf != nil }
      try t.require(broken.isEmpty, "not every byte went top half → bottom half → printed, in that order: \(broken.map(\.description).joined(separator: "; "))")
      try t.require(sent >= topHalves + watchdog, "OP-TEE sent \(sent) notifications for \(topHalves) top halves and \(watchdog) watchdog callouts")
      // One notification may be sent just before the count starts and land inside it.
      try t.require(after - before >= topHalves && after - before <= sent + 1,
        "Linux counted \(after - before) notification interrupts; OP-TEE sent \(sent), \(topHalves) of them from the console's top half")
      let late = chains.compactMap(\.toBottomHalf).filter { $0 > bounds.maxSeconds }
      try t.require(late.isEmpty, "the bottom half ran late: \(late.map { $0.formatted(decimals: 3) }) s after its top half (bound \(bounds.maxSeconds) s)")
    }

    Test("the test watchdog's bottom half runs every period", timeout: .seconds(60)) { t in
      try t.requireOptee("CFG_NOTIF_TEST_WD", else: "this stack has no test watchdog")
      let probe = try t.secureWorldProbe()
      let before = try await t.interruptLine(matching: "optee_notification").counts.reduce(0, +)
      let (log, _) = try await probe.watching(["test_wd_callback", "wd_ndrv_yielding_cb"]) { _ in try await t.run("sleep 5") }
      let after = try await t.interruptLine(matching: "optee_notification").counts.reduce(0, +)
      let calls = log.count { $0.name == "test_wd_callback" }, bottoms = log.count { $0.name == "wd_ndrv_yielding_cb" }
      let timeouts = await t.secure.lines().compactMap { WatchdogLine(parsing: $0.text) }.filter { $0.timeouts > 0 }
      t.note("in 5 s: watchdog callouts \(calls), its bottom halves \(bottoms), notifications +\(after - before); timeout lines ever: \(timeouts.count)")
      try t.require((4...6).contains(calls), "the watchdog's callout ran \(calls) times in 5 s")
      try t.require(bottoms >= calls - 1, "\(calls) callouts but only \(bottoms) bottom halves: notifications are being lost")
      try t.require(after - before >= calls - 1, "\(calls) callouts but Linux counted only \(after - before) notifications")
      try t.require(timeouts.isEmpty, "the watchdog timed out: \(timeouts.map(\.text).joined(separator: "; "))")
    }

    Test("every thread busy: the top half runs at once, the bottom half waits for a free thread", timeout: .seconds(120)) { t in
      let probe = try t.secureWorldProbe()
      let n = try t.opteeThreads(), ms = 4000
      let text = "busy!"
      let calls = try await t.startCalls(n, "wait", ms: ms, tag: "notif-busy")
      try await t.waitUntilInvoking(calls, count: n)
      let invoking = ContinuousClock.now
      let (log, (typed, table)) = try await probe.watching(["console_itr_cb", "yielding_console_notif"]) { watch in
        let table = try await watch.threadTable()
        return (try await t.typeSecureBurst(text, within: .seconds(Double(ms) / 1000 + 10)), table)
      }
      let timeline = try await t.finish(calls)
      let top = log.first { $0.name == "console_itr_cb" }?.at
      let bottom = log.first { $0.name == "yielding_console_notif" && $0.at > (top ?? invoking) }?.at
      func since(_ a: ContinuousClock.Instant?) -> String { a.map { ($0 - invoking).seconds.formatted(decimals: 3) } ?? "never" }
      t.note("\(n) threads busy with \(ms) ms waits (\(table.map(\.description).joined(separator: ", "))); after they were invoking: top half at \(since(top)) s, bottom half at \(since(bottom)) s; typed → read \(typed.latencySummary)")
      try t.require(timeline.isComplete && timeline.failures.isEmpty, "the waiting calls failed: \(timeline.failures.map(\.result))")
      try t.require(table.allSatisfy { !$0.isFree }, "a thread was free: the calls did not take every thread (\(table))")
      try t.require(typed.problems.isEmpty, "bytes typed while every thread was busy were lost: \(typed.problems.joined(separator: "; "))")
      let topAfter = top.map { ($0 - invoking).seconds } ?? .infinity
      let bottomAfter = bottom.map { ($0 - invoking).seconds } ?? .infinity
      try t.require(topAfter < Double(ms) / 1000 - 1, "the top half did not run while every thread was busy (at \(since(top)) s)")
      try t.require(bottomAfter >= Double(ms) / 1000 - 1 && bottomAfter <= Double(ms) / 1000 + 5,
        "the bottom half should wait for a free thread (the waits end \(ms / 1000) s after they started) and then run: it ran at \(since(bottom)) s")
    }
  }
}

/// The notification interrupt as the device tree's `interrupts` property gives it (three cells: SPI, number,
/// flags; `00000000 000000bb 00000001` is SPI 187, edge → INTID 219).
public struct NotificationInterrupt: Sendable, Equatable {
  public var intid: Int
  public var edge: Bool

  public init?(deviceTreeCells hex: String) {
    let cells = stride(from: 0, to: hex.count - 7, by: 8).compactMap { i -> Int? in
      let start = hex.index(hex.startIndex, offsetBy: i)
      return Int(hex[start..<hex.index(start, offsetBy: 8)], radix: 16)
    }
    guard cells.count == 3 else { return nil }
    intid = cells[1] + (cells[0] == 0 ? 32 : 16)
    edge = cells[2] & 0x3 != 0
  }
}

/// The line OP-TEE's test watchdog prints from its callout, which runs on the secure physical timer every
/// period: `D/TC:? 0 test_wd_callback:48 WD call_count 7, timeout_count 0`.
public struct WatchdogLine: Sendable, Equatable {
  public var calls: Int
  public var timeouts: Int
  public var text: String

  public init?(parsing line: String) {
    guard let range = line.range(of: #"WD call_count \d+, timeout_count \d+"#, options: .regularExpression) else { return nil }
    let numbers = line[range].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    guard numbers.count == 2 else { return nil }
    (calls, timeouts, text) = (numbers[0], numbers[1], String(line[range]))
  }
}

/// One typed byte's way through the notification chain: written → top half (secure interrupt) → bottom half
/// (yielding call) → its `got` line on the secure console.
public struct NotificationChain: Sendable, CustomStringConvertible {
  public var byte: UInt8
  public var toTopHalf: Double?
  public var toBottomHalf: Double?
  public var toPrinted: Double?
  public var isComplete: Bool { toTopHalf != nil && toBottomHalf != nil && toPrinted.map { $0 >= 0 } == true }
  public var description: String {
    "0x\(String(byte, radix: 16)): top half \(toTopHalf.map { "+\($0.formatted(decimals: 3)) s" } ?? "never"), bottom half \(toBottomHalf.map { "+\($0.formatted(decimals: 3)) s" } ?? "never"), printed \(toPrinted.map { "+\($0.formatted(decimals: 3)) s" } ?? "never")"
  }

  /// Pairs each typed byte with the first top half at or after its writing, the first bottom half after that,
  /// and its `got` line (all times on the secure console's clock).
  public static func chains(typed: TypedBytes, topHalves: [Double], bottomHalves: [Double]) -> [NotificationChain] {
    zip(typed.bytes, typed.typedAt).map { byte, at in
      let top = topHalves.first { $0 >= at }
      let bottom = top.flatMap { top in bottomHalves.first { $0 >= top } }
      let printed = typed.input.firstRead(of: byte, after: at)?.time
      return NotificationChain(byte: byte, toTopHalf: top.map { $0 - at },
        toBottomHalf: bottom.flatMap { b in top.map { b - $0 } }, toPrinted: printed.flatMap { p in bottom.map { p - $0 } })
    }
  }

  init(byte: UInt8, toTopHalf: Double? = nil, toBottomHalf: Double? = nil, toPrinted: Double? = nil) {
    self.byte = byte
    self.toTopHalf = toTopHalf
    self.toBottomHalf = toBottomHalf
    self.toPrinted = toPrinted
  }
}

extension TestContext {
  /// Converts host instants (a watch's hits) to the secure console's clock (its lines' times).
  public func secureClock() -> @Sendable (ContinuousClock.Instant) -> Double {
    let (instant, seconds) = (ContinuousClock.now, secure.now())
    return { seconds + ($0 - instant).seconds }
  }
}
