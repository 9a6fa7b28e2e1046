import Guest
import Testing

@Suite struct PinnedRunTests {
  static func line(cpu: Int = 0, from: Int = 1, on: Int = 0, asked: String = "31.200000", ran: String = "31.204000") -> String {
    #"{"event":"pinned","cpu":\#(cpu),"from":\#(from),"on":\#(on),"asked":\#(asked),"ran":\#(ran)}"#
  }

  @Test func aPinnedRunIsReadFromTheProgramsLine() throws {
    let run = try #require(PinnedRun(cpu: 0, output: "teeharness-client pin 0\n\(Self.line())\n"))
    #expect(run.from == 1 && run.on == 0 && abs(run.seconds - 0.004) < 1e-9)
    // Ran elsewhere, times out of order or not numbers, another CPU's line, no line, a failed move: no run.
    #expect(PinnedRun(cpu: 0, output: Self.line(on: 1)) == nil)
    #expect(PinnedRun(cpu: 0, output: Self.line(asked: "32.0", ran: "31.0")) == nil)
    #expect(PinnedRun(cpu: 0, output: Self.line(ran: "nan")) == nil)
    #expect(PinnedRun(cpu: 1, output: Self.line()) == nil)
    #expect(PinnedRun(cpu: 0, output: "sh: teeharness-client: not found") == nil)
    #expect(PinnedRun(cpu: 0, output: #"{"event":"pinned","cpu":0,"error":"sched_setscheduler: Operation not permitted"}"#) == nil)
  }

  @Test func onlyARunWellBeforeTheTAReturnedShowsLinuxHadTheCPUBack() throws {
    let run = try #require(PinnedRun(cpu: 0, output: Self.line(asked: "30.00", ran: "32.05")))
    #expect(run.failure(whileTA: "spun", returned: 37.9) == nil)
    #expect(run.failure(whileTA: "spun", returned: 33.06) == nil)
    #expect(run.failure(whileTA: "spun", returned: 32.0)?.contains("ran there only at 32.050 s, after the TA that spun there had returned") == true)
    #expect(run.failure(whileTA: "spun", returned: 32.05)?.contains("reschedule IPI") == true)
    #expect(run.failure(whileTA: "spun", returned: 32.5)?.contains("0.450 s before the TA that spun there returned, as it ended") == true)
    #expect(run.failure(whileTA: "spun", returned: 30.9)?.contains("the case was not reached") == true)
    #expect(run.failure(whileTA: "spun", returned: 29.0)?.contains("the case was not reached") == true)
    #expect(run.failure(whileTA: "spun", returned: nil) == nil)
    #expect(run.failure(whileTA: "spun", returned: .nan) == nil)
    #expect(run.describe(against: 37.9).contains("from CPU 1 at 30.00 s of the guest's clock ran there 2.050 s later; the TA returned at 37.90 s at the earliest"))
    #expect(try #require(PinnedRun(cpu: 0, output: Self.line(from: 0))).describe(against: nil).contains("(born there)"))
  }

  /// Seen on a stack whose OP-TEE masks foreign interrupts while a TA computes in user mode: the IPI was taken in the
  /// TA's closing system call, so the program ran 10 ms before the TA's own end and 15 ms before the client's.
  @Test func aProgramThatRanAsTheTAEndedWaitedForIt() throws {
    let run = try #require(PinnedRun(cpu: 0, output: Self.line(asked: "30.241894", ran: "32.390481")))
    let call = try #require(CallTimeline(parsing: #"{"event":"call","call":0,"command":"compute","ms":8000,"opened":true,"result":"0x00000000","origin":4,"start":29.540018,"end":32.405021,"ta_ms":2861,"ta_in":31134,"ta_out":33995}"#).calls.first)
    #expect(abs(call.taReturnedNoEarlierThan - 32.400018) < 1e-9)
    let failure = try #require(run.failure(whileTA: "computed in user mode", returned: call.taReturnedNoEarlierThan))
    #expect(failure.contains("ran there only at 32.390 s, 0.010 s before the TA that computed in user mode there returned, as it ended"), "\(failure)")
    #expect(failure.contains("Linux never had CPU 0 back for the reschedule IPI"))
  }

  @Test func tasksetsMaskIsHexadecimal() {
    #expect(PayloadClient.mask(0) == "1")
    #expect(PayloadClient.mask(1) == "2")
    #expect(PayloadClient.mask(4) == "10")
  }

  @Test func aCallThatReturnedBeforeLinuxCouldLookMeansLinuxStoodStill() {
    let stall = PinnedRun.stall(cpu: 0, whileTA: "spun", ms: 8000, lookedAt: 20.63, ended: (20.61, 7982, true))
    #expect(stall?.hasPrefix("Linux stood still while the TA spun on CPU 0") == true)
    #expect(PinnedRun.stall(cpu: 0, whileTA: "spun", ms: 8000, lookedAt: 12.0, ended: (20.61, 7982, true)) == nil)
    // A call that failed at once, or ran short, ended early for its own reasons.
    #expect(PinnedRun.stall(cpu: 0, whileTA: "spun", ms: 8000, lookedAt: 20.63, ended: (20.61, 7982, false)) == nil)
    #expect(PinnedRun.stall(cpu: 0, whileTA: "spun", ms: 8000, lookedAt: 20.63, ended: (20.61, 120, true)) == nil)
    #expect(PinnedRun.stall(cpu: 0, whileTA: "spun", ms: 8000, lookedAt: 20.63, ended: nil) == nil)
  }

  @Test func theAsksForACPUAreEveryPinnedLineOfTheLoop() {
    let output = [Self.line(asked: "10.0", ran: "10.003"), "sleep: applet not found", Self.line(asked: "12.1", ran: "12.105"),
      Self.line(on: 1), #"{"event":"pinned","cpu":0,"error":"sched_setscheduler: Operation not permitted"}"#].joined(separator: "\n")
    let asks = PinnedAsks(cpu: 0, output: output)
    #expect(asks.runs.map(\.asked) == [10.0, 12.1])
    // A program that ran elsewhere or could not become real-time is a failed ask; other lines are none.
    #expect(asks.failed.count == 2)
    #expect(asks.otherLines == ["sleep: applet not found"])
    #expect(PinnedAsks(cpu: 0, output: "").runs.isEmpty)
  }
}
