import Foundation
import GDBRemote

extension LinuxInterrupts {
  /// How long before the first spinning TA's end reading Linux must have taken the interrupt. A CPU whose OP-TEE
  /// leaves for Linux's interrupts does so within milliseconds of the IPI; one whose OP-TEE keeps them masked lets
  /// Linux in only once the call returns to Linux (or leaves it for an RPC), after the TA's end reading.
  package static let marginMilliseconds = 1000.0

  /// Why Linux's first interrupt on `taken.cpu` does not show Linux taking interrupts there while at least `atOnce`
  /// of `calls` were spinning in their TA (each holding an OP-TEE thread) — judged on OP-TEE's own clock: the TAs'
  /// entry and end readings (`TEE_GetSystemTime`) and the raise's counter reading are the same counter, and the
  /// interrupt came at most `taken.seconds` after the raise. nil when it does.
  package func failure(of taken: Taken, whileSpinning calls: [CallTimeline.Call], atOnce: Int) -> String? {
    let intervals = calls.compactMap(\.secureInterval)
    guard !calls.isEmpty else { return "no spinning call reported" }
    guard intervals.count == calls.count else {
      return "\(calls.count - intervals.count) of \(calls.count) spinning calls did not report when their TA entered and returned (the payload TA is older than its client: rebuild the images)"
    }
    let from = raised.milliseconds, latest = from + taken.seconds * 1000
    guard from.isFinite else { return "the counter's frequency read as 0 when the IPIs were raised" }
    let firstReturn = Double(intervals.map(\.upperBound).min()!)
    // TA readings are cut to whole milliseconds: an entry read 1 ms before is surely before.
    let held = intervals.count { Double($0.lowerBound) + 1 <= from }
    if from + Self.marginMilliseconds > firstReturn || held < atOnce {
      return "the IPIs were raised at \(Self.seconds(from)) s of OP-TEE's clock, when \(held) of \(calls.count) spinning calls were in their TA (\(atOnce) wanted) and \(Self.seconds(firstReturn - from)) s before the first spinning TA's end reading (\(Self.seconds(firstReturn)) s; at least \(Self.seconds(Self.marginMilliseconds)) s wanted): the case was not reached"
    }
    if latest + Self.marginMilliseconds > firstReturn {
      return "Linux took its first interrupt on CPU \(taken.cpu) only \(taken.seconds.formatted(decimals: 3)) s after its reschedule IPI was raised there (at \(Self.seconds(from)) s of OP-TEE's clock, \(held) of \(calls.count) calls spinning in their TA then; host seconds, which the guest's cannot exceed), the first spinning TA's end reading being \(Self.seconds(firstReturn - from)) s after the raise: while the TAs spun, Linux's interrupts on CPU \(taken.cpu) waited for a TA's end"
    }
    return nil
  }

  /// "CPU 1 0.003 s after the raise; the first spinning TA's end 6.800 s after it".
  package func describe(againstFirstReturn calls: [CallTimeline.Call]) -> String {
    let firstReturn = calls.compactMap(\.secureInterval).map(\.upperBound).min()
    let cpus = taken.map { "CPU \($0.cpu) \($0.seconds.formatted(decimals: 3)) s" }.joined(separator: ", ")
    return "\(cpus) after the raise\(firstReturn.map { "; the first spinning TA's end \(Self.seconds(Double($0) - raised.milliseconds)) s after it" } ?? "")"
  }

  static func seconds(_ milliseconds: Double) -> String { (milliseconds / 1000).formatted(decimals: 3) }
}
