import Guest
import Testing

@Suite struct PinnedRunTests {
  @Test func aPinnedRunIsReadFromTwoUptimeReadings() {
    #expect(PinnedRun(cpu: 0, output: "31.20 32.05\n") == PinnedRun(cpu: 0, output: "31.2 32.05"))
    #expect(PinnedRun(cpu: 0, output: "31.20 32.05")?.seconds ?? 0 > 0.84)
    #expect(PinnedRun(cpu: 0, output: "31.20") == nil)
    #expect(PinnedRun(cpu: 0, output: "32.05 31.20") == nil)
    #expect(PinnedRun(cpu: 0, output: "sh: taskset: not found") == nil)
  }

  @Test func onlyARunThatEndedBeforeTheTAReturnedShowsLinuxHadTheCPUBack() throws {
    let run = try #require(PinnedRun(cpu: 0, output: "31.20 32.05"))
    #expect(run.failure(whileTA: "spun", returned: 37.9) == nil)
    #expect(run.failure(whileTA: "spun", returned: 32.0)?.contains("ended only at 32.05 s") == true)
    #expect(run.failure(whileTA: "spun", returned: 31.0)?.contains("the case was not reached") == true)
    #expect(run.failure(whileTA: "spun", returned: nil) == nil)
    #expect(run.failure(whileTA: "spun", returned: .nan) == nil)
    // Readings cut to 0.01 s: an end that close to the return is not before it.
    #expect(run.failure(whileTA: "spun", returned: 32.055) != nil)
    #expect(run.failure(whileTA: "spun", returned: 32.07) == nil)
  }

  @Test func tasksetsMaskIsHexadecimal() {
    #expect(PinnedRun.mask(0) == "1")
    #expect(PinnedRun.mask(1) == "2")
    #expect(PinnedRun.mask(4) == "10")
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
}
