import HarnessSupport
import Testing

/// `/proc/stat`'s first line: busy is everything but idle and iowait.
@Suite struct HostCPUTests {
  @Test func busyAndTotalTicksFromTheAllCPULine() {
    let stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\nintr 1\n"
    let ticks = HostCPU.ticks(stat)
    #expect(ticks?.busy == 160 && ticks?.total == 980)
  }

  @Test func anythingElseIsNoReading() {
    #expect(HostCPU.ticks("") == nil)
    #expect(HostCPU.ticks("intr 1 2 3") == nil)
    #expect(HostCPU.ticks("cpu  1 2") == nil)
    #expect(HostCPU.ticks(nil) == nil)
  }
}
