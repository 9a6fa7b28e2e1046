import Foundation
import GDBRemote

/// The notification interrupt as the device tree's `interrupts` property gives it (three cells: SPI, number,
/// flags; `00000000 000000bb 00000001` is SPI 187, edge → INTID 219).
package struct NotificationInterrupt: Sendable, Equatable {
  package var intid: Int
  package var edge: Bool

  package init?(deviceTreeCells hex: String) {
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
package struct WatchdogLine: Sendable, Equatable {
  package var calls: Int
  package var timeouts: Int
  package var text: String

  package init?(parsing line: String) {
    guard let range = line.range(of: #"WD call_count \d+, timeout_count \d+"#, options: .regularExpression) else { return nil }
    let numbers = line[range].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    guard numbers.count == 2 else { return nil }
    (calls, timeouts, text) = (numbers[0], numbers[1], String(line[range]))
  }
}

/// One typed byte's way through the notification chain: written → top half (secure interrupt) → bottom half
/// (yielding call) → its `got` line on the secure console. OP-TEE runs every yielding driver for any bottom-half
/// event, so the byte may be printed by a bottom half that had begun before its own top half (the watchdog's,
/// or the previous byte's, interrupted by this byte's top half): what must hold is that its own notification
/// brought a bottom half, and that it was printed after its top half, from inside a bottom half.
package struct NotificationChain: Sendable, CustomStringConvertible {
  package var byte: UInt8
  package var toTopHalf: Double?
  /// From the top half to the first bottom half after it (its own notification's).
  package var toBottomHalf: Double?
  /// From the top half to the byte's `got` line.
  package var toPrinted: Double?
  /// Whether a bottom half had begun when the line was printed.
  package var printedInBottomHalf = false
  package var isComplete: Bool {
    toTopHalf != nil && toBottomHalf != nil && toPrinted.map { $0 >= 0 } == true && printedInBottomHalf
  }
  /// Printed by a bottom half before any top half ran for it: another cause's bottom half (the watchdog's) read
  /// it first, and the interrupt it raised was gone before it was taken (the top half paired with it is the next
  /// byte's). Rare, and never more than that other cause's bottom halves.
  package var readBeforeItsInterrupt: Bool { toPrinted.map { $0 < 0 } == true && printedInBottomHalf }
  package var description: String {
    "0x\(String(byte, radix: 16)): top half \(toTopHalf.map { "+\($0.formatted(decimals: 3)) s" } ?? "never"), bottom half \(toBottomHalf.map { "+\($0.formatted(decimals: 3)) s after it" } ?? "never"), printed \(toPrinted.map { "+\($0.formatted(decimals: 3)) s after the top half" } ?? "never")\(toPrinted != nil && !printedInBottomHalf ? " with no bottom half begun" : "")"
  }

  /// Pairs each typed byte with the first top half at or after its writing, the first bottom half after that,
  /// and its `got` line (all times on the secure console's clock); the print counts as a bottom half's when one
  /// began at most `window` seconds before it.
  package static func chains(typed: TypedBytes, topHalves: [Double], bottomHalves: [Double], window: Double = 0.5) -> [NotificationChain] {
    zip(typed.bytes, typed.typedAt).map { byte, at in
      let top = topHalves.first { $0 >= at }
      let bottom = top.flatMap { top in bottomHalves.first { $0 >= top } }
      let printed = typed.input.firstRead(of: byte, after: at)?.time
      var chain = NotificationChain(byte: byte, toTopHalf: top.map { $0 - at },
        toBottomHalf: bottom.flatMap { b in top.map { b - $0 } }, toPrinted: printed.flatMap { p in top.map { p - $0 } })
      chain.printedInBottomHalf = printed.map { p in bottomHalves.contains { $0 <= p && $0 >= p - window } } ?? false
      return chain
    }
  }

  init(byte: UInt8, toTopHalf: Double? = nil, toBottomHalf: Double? = nil, toPrinted: Double? = nil) {
    self.byte = byte
    self.toTopHalf = toTopHalf
    self.toBottomHalf = toBottomHalf
    self.toPrinted = toPrinted
  }
}

/// The links of asynchronous notifications counted over one window: what OP-TEE did that must notify (a top half,
/// a watchdog callout), the notifications it sent, the notification interrupts Linux counted, the bottom halves
/// that ran. The first link that carried nothing, although the one before it carried something, is the broken one.
package struct NotificationLinks: Sendable, Equatable {
  /// What must notify, as a failure names it (`the secure console's top half (console_itr_cb)`).
  package var cause: String
  package var causes: Int
  /// Notifications OP-TEE sent (`notif_send_async` runs), when watched.
  package var sent: Int?
  /// Notification interrupts Linux counted.
  package var counted: Int
  /// The bottom half's function, as a failure names it.
  package var bottomHalf: String
  package var bottomHalves: Int

  package init(cause: String, causes: Int, sent: Int? = nil, counted: Int, bottomHalf: String, bottomHalves: Int) {
    (self.cause, self.causes, self.sent, self.counted, self.bottomHalf, self.bottomHalves) = (cause, causes, sent, counted, bottomHalf, bottomHalves)
  }

  /// The first link that carried nothing, said as a failure; nil when every link carried something (or nothing
  /// had to be carried).
  package var firstBroken: String? {
    guard causes > 0 else { return nil }
    if sent == 0 { return "\(cause) ran \(causes) times but OP-TEE sent no notification (notif_send_async never ran)" }
    if counted == 0 {
      let sentNow = sent.map { "OP-TEE sent \($0) notifications (\(cause) ran \(causes) times)" } ?? "\(cause) ran \(causes) times"
      return "\(sentNow) but Linux counted no notification interrupt: the notification interrupt does not reach Linux"
    }
    if bottomHalves == 0 {
      return "Linux counted \(counted) notification interrupts but no bottom half ran (\(bottomHalf) was never called): the bottom half is not requested or not delivered"
    }
    return nil
  }
}

extension NotificationLinks {
  /// The links of the secure console's own notifications in a watch of its top half (console_itr_cb),
  /// notif_send_async and the bottom half (yielding_console_notif) — with the watchdog's callout too, so its
  /// notifications are not taken for the console's — and `counted`, Linux's count over the watch.
  package static func console(in hits: [WatchHit], counted: Int) -> NotificationLinks {
    NotificationLinks(cause: "the secure console's top half (console_itr_cb)", causes: hits.count { $0.name == "console_itr_cb" },
      sent: sends(by: "console_itr_cb", in: hits), counted: max(0, counted), bottomHalf: "yielding_console_notif",
      bottomHalves: hits.count { $0.name == "yielding_console_notif" })
  }

  /// How many of `send`'s runs `cause` made: each run whose CPU's previous watched hit was `cause` (a top half
  /// notifies from within itself, on its own CPU). Exact where subtracting another cause's count is not: a watch
  /// that begins or ends between a callout and its notification counts one without the other.
  package static func sends(by cause: String, in hits: [WatchHit], send: String = "notif_send_async") -> Int {
    var last: [Int: String] = [:]
    var count = 0
    for hit in hits {
      if hit.name == send, last[hit.cpu] == cause { count += 1 }
      last[hit.cpu] = hit.name
    }
    return count
  }
}
