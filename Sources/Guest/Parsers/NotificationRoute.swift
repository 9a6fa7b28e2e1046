import Foundation
import GDBRemote
import HarnessSupport

/// The way a notification goes from OP-TEE to its bottom half, function by function, on each transport. OP-TEE
/// sends it (`notif_send_async`) and, inside, raises the notification interrupt on its own CPU: an SPI
/// (`gic_op_raise_pi`) on the SMC stack, the SGI it donated to the normal world (`gic_op_raise_sgi`) over FF-A.
/// Linux's driver then fetches it — on the SMC stack with OPTEE_SMC_GET_ASYNC_NOTIF_VALUE (`get_async_notif_value`),
/// over FF-A by asking which partitions have notifications pending (FFA_NOTIFICATION_INFO_GET) and taking them
/// (FFA_NOTIFICATION_GET) — and asks for the bottom half, which runs in an OP-TEE thread.
package struct NotificationRoute: Sendable, Equatable {
  /// A call of Linux's driver into OP-TEE that fetches notifications: OP-TEE's handler and the ABI call's name.
  package struct Fetch: Sendable, Equatable {
    package var symbol: String
    package var call: String
  }

  package var transport: OpteeTransport
  /// The notification interrupt's number (what OP-TEE was built to raise).
  package var intid: Int
  package var send = "notif_send_async"
  /// OP-TEE's function that raises the interrupt; its second argument (`x1`) is the interrupt's number.
  package var raise: String
  package var fetches: [Fetch]

  package init(transport: OpteeTransport, intid: Int) {
    (self.transport, self.intid) = (transport, intid)
    switch transport {
    case .smc:
      raise = "gic_op_raise_pi"
      fetches = [Fetch(symbol: "get_async_notif_value", call: "OPTEE_SMC_GET_ASYNC_NOTIF_VALUE")]
    case .ffa:
      raise = "gic_op_raise_sgi"
      fetches = [
        Fetch(symbol: "handle_notification_info_get", call: "FFA_NOTIFICATION_INFO_GET"),
        Fetch(symbol: "handle_notification_get", call: "FFA_NOTIFICATION_GET"),
      ]
    }
  }

  /// The functions to watch, and the register to read at each hit of the raise (the interrupt's number).
  package var symbols: [String] { [send, raise] + fetches.map(\.symbol) }
  package var reading: [String: String] { [raise: "x1"] }
  /// The interrupt as a failure names it.
  package var interrupt: String { transport == .ffa ? "SGI \(intid)" : "SPI \(intid)" }
  /// Linux's driver, as a failure names it.
  var driver: String { transport == .ffa ? "Linux's FF-A driver" : "Linux's OP-TEE driver" }

  /// One notification followed along the route: when each link ran after the one before it (nil: it never did).
  package struct Trace: Sendable, Equatable {
    package var cause: ContinuousClock.Instant
    package var sent: ContinuousClock.Instant?
    package var raised: ContinuousClock.Instant?
    /// The interrupt number OP-TEE raised.
    package var raisedAs: UInt64?
    /// Each fetch of the route, in order.
    package var fetched: [ContinuousClock.Instant?]
    package var bottomHalf: ContinuousClock.Instant?
  }

  /// Each step a notification of `trace` took, named by its ends, in seconds (as far as it went).
  package func steps(of trace: Trace) -> [(name: String, seconds: Double)] {
    let names = ["cause", send, "\(interrupt) raised"] + fetches.map(\.call) + ["bottom half"]
    let times = [trace.cause, trace.sent, trace.raised] + trace.fetched + [trace.bottomHalf]
    var out: [(String, Double)] = []
    for k in 1..<times.count {
      guard let from = times[k - 1], let to = times[k] else { break }
      out.append(("\(names[k - 1]) → \(names[k])", (to - from).seconds))
    }
    return out
  }

  /// Follows each run of `cause` in `hits`: the notification its CPU sends right after it (from within it), the
  /// interrupt raised inside that send on the same CPU, then (on any CPU) each fetch after the link before, then
  /// the first run of `bottomHalf` after the last fetch. A fetch or bottom half may serve several notifications.
  package func traces(of cause: String, bottomHalf: String, in hits: [WatchHit]) -> [Trace] {
    func next(after index: Int, where matches: (WatchHit) -> Bool) -> Int? {
      hits.indices.first { $0 > index && matches(hits[$0]) }
    }
    return hits.indices.filter { hits[$0].name == cause }.map { start in
      let cpu = hits[start].cpu
      var trace = Trace(cause: hits[start].at, fetched: Array(repeating: nil, count: fetches.count))
      // Within the cause, on its CPU: the next watched function that CPU runs must be the send, then the raise.
      guard let send = next(after: start, where: { $0.cpu == cpu }), hits[send].name == self.send else { return trace }
      trace.sent = hits[send].at
      guard let raise = next(after: send, where: { $0.cpu == cpu }), hits[raise].name == self.raise else { return trace }
      (trace.raised, trace.raisedAs) = (hits[raise].at, hits[raise].argument)
      var last = raise
      for (k, fetch) in fetches.enumerated() {
        guard let found = next(after: last, where: { $0.name == fetch.symbol }) else { return trace }
        trace.fetched[k] = hits[found].at
        last = found
      }
      trace.bottomHalf = next(after: last, where: { $0.name == bottomHalf }).map { hits[$0].at }
      return trace
    }
  }

  /// The first link no notification of `traces` went past, said as a failure (nil when every one reached its
  /// bottom half by the route, raising the right interrupt). `cause` and `bottomHalf` as a failure names them.
  package func firstBroken(_ traces: [Trace], cause: String, bottomHalf: String) -> String? {
    guard !traces.isEmpty else { return nil }
    let n = traces.count
    let sent = traces.filter { $0.sent != nil }
    if sent.count < n {
      return "\(cause) ran \(n) times but sent its notification (\(send)) only \(sent.count) times"
    }
    let raised = sent.filter { $0.raised != nil }
    if raised.count < n {
      return "OP-TEE sent \(n) notification\(n == 1 ? "" : "s") (\(send)) but raised the notification interrupt (\(raise)) for only \(raised.count) of them: the notifications are recorded as pending and never signalled"
    }
    let numbers = Set(raised.compactMap(\.raisedAs))
    if numbers != [UInt64(intid)] {
      return "OP-TEE raised \(numbers.sorted().map { "INTID \($0)" }.joined(separator: ", ")) for its notifications, not the notification interrupt \(interrupt) that Linux's driver listens to"
    }
    var before = "OP-TEE raised \(interrupt) \(n == 1 ? "once" : "\(n) times") (\(raise))"
    for (k, fetch) in fetches.enumerated() {
      let reached = traces.filter { $0.fetched[k] != nil }.count
      if reached < n {
        let why = k == 0
          ? "the interrupt does not reach \(driver)"
          : "the pending notifications were not listed to Linux, or Linux did not act on the list"
        return "\(before), but \(driver) did not fetch \(n - reached) of them (\(fetch.call): \(fetch.symbol) did not run after it): \(why)"
      }
      before += k == 0 ? " and \(driver) \(fetches.count > 1 ? "asked which were pending" : "fetched them") (\(fetch.call))" : ", then fetched them (\(fetch.call))"
    }
    let reached = traces.filter { $0.bottomHalf != nil }.count
    if reached < n {
      return "\(before), but no bottom half (\(bottomHalf)) ran after \(n - reached) of them: the bottom half is not requested or not delivered"
    }
    return nil
  }
}
