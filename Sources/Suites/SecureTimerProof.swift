import Foundation
import HarnessSupport
import Machine

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

/// Proof that a restored machine's secure timer runs: the test watchdog's callout printed on the secure console
/// after the machine became ready. Only the timer makes that line (a byte typed at the secure console, or any
/// notification, does not).
struct SecureTimerProof: Sendable {
  /// When the restored machine became ready (machine seconds).
  var since: Double
  /// How long after `since` the first callout may take (the watchdog's period is 1 s).
  var within = 3.0

  /// Whether a stack can give the proof: its test watchdog runs and its log level prints the callout's line.
  static func possible(_ facts: StackFacts) -> String? {
    guard facts.asyncNotifications, facts.optee.flag("CFG_NOTIF_TEST_WD") else { return "the stack has no test watchdog" }
    guard (facts.optee.integer("CFG_TEE_CORE_LOG_LEVEL") ?? 0) >= 3 else {
      return "OP-TEE's log level (CFG_TEE_CORE_LOG_LEVEL < 3) does not print the watchdog's callout"
    }
    return nil
  }

  /// Nil when the callout printed in time; else why the timer is taken for dead. Waits at most until `within`
  /// seconds after `since`.
  func check(_ machine: Machine) async -> String? {
    while true {
      let lines = await machine.secure.slice(from: since)
      if let first = lines.first(where: { WatchdogLine(parsing: $0.text) != nil }), first.time <= since + within { return nil }
      if machine.now() > since + within || !machine.isRunning { break }
      try? await Task.sleep(for: .milliseconds(100))
    }
    return "the secure timer does not run on this restored machine: OP-TEE's test watchdog printed no callout in the \(within.formatted(decimals: 0)) s after it was ready"
  }
}
