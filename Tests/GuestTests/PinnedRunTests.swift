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
}
