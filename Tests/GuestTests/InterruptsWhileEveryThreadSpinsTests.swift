import GDBRemote
import Guest
import Testing

@Suite struct InterruptsWhileEveryThreadSpinsTests {
  /// Two spins of 8 s entered at 30.000 and 30.004 s of OP-TEE's clock (a 62.5 MHz counter).
  static let calls = CallTimeline(parsing: """
    {"event":"call","call":0,"command":"spin","ms":8000,"opened":true,"result":"0x00000000","origin":4,"start":12.1,"end":20.2,"ta_ms":8000,"ta_in":30000,"ta_out":38000}
    {"event":"call","call":1,"command":"spin","ms":8000,"opened":true,"result":"0x00000000","origin":4,"start":12.1,"end":20.2,"ta_ms":8000,"ta_in":30004,"ta_out":38004}
    """).calls
  static func raised(at seconds: Double, _ taken: [(cpu: Int, after: Double)]) -> LinuxInterrupts {
    LinuxInterrupts(raised: CounterReading(count: UInt64(seconds * 62_500_000), frequency: 62_500_000),
      taken: taken.map { LinuxInterrupts.Taken(cpu: $0.cpu, seconds: $0.after) })
  }
  static func failures(_ interrupts: LinuxInterrupts, calls: [CallTimeline.Call] = calls) -> [String] {
    interrupts.taken.compactMap { interrupts.failure(of: $0, whileSpinning: calls, atOnce: 2) }
  }

  @Test func interruptsWhileEveryThreadSpinsAndWellBeforeTheFirstEndPass() {
    let seen = Self.raised(at: 31.2, [(1, 0.004), (0, 0.017)])
    #expect(Self.failures(seen).isEmpty)
    #expect(Self.failures(Self.raised(at: 31.2, [(0, 5.79)])).isEmpty)
    #expect(seen.describe(againstFirstReturn: Self.calls) == "CPU 1 0.004 s, CPU 0 0.017 s after the raise; the first spinning TA's end 6.800 s after it")
  }

  /// Seen on foreign-interrupts-masked-in-calls: both CPUs' first IRQ right after the first TA's end reading.
  @Test func interruptsOnlyAsOrAfterATAEndedWaitedForIt() throws {
    let seen = Self.failures(Self.raised(at: 31.553, [(1, 6.454), (0, 6.531)]))
    #expect(seen.count == 2)
    #expect(seen[0].contains("Linux took its first interrupt on CPU 1 only 6.454 s after its reschedule IPI was raised there (at 31.553 s of OP-TEE's clock"))
    #expect(seen[0].contains("2 of 2 calls spinning in their TA then; host seconds, which the guest's cannot exceed), the first spinning TA's end reading being 6.447 s after the raise: while the TAs spun, Linux's interrupts on CPU 1 waited for a TA's end"))
    // Within the margin of the end: as good as after it.
    #expect(Self.failures(Self.raised(at: 31.2, [(0, 5.81)])).count == 1)
  }

  @Test func ipisRaisedTooLateOrBeforeEveryCallEnteredReachNoVerdict() throws {
    let late = try #require(Self.failures(Self.raised(at: 37.2, [(0, 0.01)])).first)
    #expect(late.contains("raised at 37.200 s of OP-TEE's clock, when 2 of 2 spinning calls were in their TA (2 wanted) and 0.800 s before the first spinning TA's end reading"))
    #expect(late.contains("the case was not reached"))
    let early = try #require(Self.failures(Self.raised(at: 30.002, [(0, 0.01)])).first)
    #expect(early.contains("when 1 of 2 spinning calls were in their TA (2 wanted)") && early.contains("the case was not reached"))
    // One call for two threads: the other thread was never held.
    #expect(Self.failures(Self.raised(at: 31.2, [(0, 0.01)]), calls: Array(Self.calls.prefix(1))).first?.contains("1 of 1 spinning calls were in their TA (2 wanted)") == true)
  }

  @Test func callsWithoutTheirTAsReadingsOrACounterWithoutAFrequencyAreNoWitness() {
    var untimed = Self.calls
    untimed[1].taOut = -1
    #expect(Self.failures(Self.raised(at: 31.2, [(0, 0.01)]), calls: untimed).first?.contains("1 of 2 spinning calls did not report") == true)
    #expect(Self.failures(Self.raised(at: 31.2, [(0, 0.01)]), calls: []) == ["no spinning call reported"])
    let noFrequency = LinuxInterrupts(raised: CounterReading(count: 5, frequency: 0), taken: [.init(cpu: 0, seconds: 0.01)])
    #expect(noFrequency.failure(of: noFrequency.taken[0], whileSpinning: Self.calls, atOnce: 2)?.contains("frequency") == true)
  }
}
