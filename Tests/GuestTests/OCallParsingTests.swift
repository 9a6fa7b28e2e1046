import Foundation
import Testing

@testable import Guest

@Suite struct OCallParsingTests {
  /// `xtest --stats --ta` with one instance holding two sessions and one that panicked (as xtest 4.10 prints it).
  static let taStats = """
    ta(c5cea996-574b-4f9e-a8561bf4128b36ed)
    \tpanicked(0) -- True if TA has panicked
    \tsession number(2)
    \tHeap Status:
    \t\tBytes allocated: 128
    ta(5b9e0e40-2636-11e1-ad9e-0002a5d5c51b)
    \tpanicked(1) -- True if TA has panicked
    \tsession number(0)
    """

  /// `xtest --stats --alloc` as it reaches the console (values padded).
  static func allocStats(heap: Int, ta: Int) -> String {
    """
    Pool:                Heap
    Bytes allocated:                       \(heap)
    Fragmentation:                         14 %
    Max bytes allocated:                   30032

    Pool:                Physical TA memory
    Bytes allocated:                       \(ta)
    Max bytes allocated:                   2097152
    """
  }

  @Test func instancesAndTheirSessionsAreRead() {
    let instances = TeeResources.instances(parsing: Self.taStats)
    #expect(instances.count == 2)
    #expect(instances[0].uuid == "c5cea996-574b-4f9e-a8561bf4128b36ed" && instances[0].sessions == 2 && !instances[0].panicked)
    #expect(instances[1].panicked && instances[1].sessions == 0)
  }

  /// The serial console ends lines with CR LF.
  @Test func consoleLineEndingsDoNotHideInstancesOrPools() {
    let instances = TeeResources.instances(parsing: Self.taStats.replacingOccurrences(of: "\n", with: "\r\n"))
    #expect(instances.count == 2 && instances[0].sessions == 2)
    let pools = TeeResources.allocations(parsing: Self.allocStats(heap: 5, ta: 6).replacingOccurrences(of: "\n", with: "\r\n"))
    #expect(pools == ["Heap": 5, "Physical TA memory": 6])
  }

  @Test func noInstanceIsTheItemNotFoundAnswer() {
    #expect(TeeResources.instances(parsing: "xtest: TEEC_InvokeCommand: res 0xffff0008 err_orig 0x4").isEmpty)
  }

  @Test func poolsAreReadByName() {
    let pools = TeeResources.allocations(parsing: Self.allocStats(heap: 22784, ta: 1_241_088))
    #expect(pools == ["Heap": 22784, "Physical TA memory": 1_241_088])
  }

  @Test func leaksNameWhatGrewAndWhatStayed() {
    let before = TeeResources(instances: [], allocated: TeeResources.allocations(parsing: Self.allocStats(heap: 1000, ta: 0)))
    let after = TeeResources(instances: TeeResources.instances(parsing: Self.taStats),
      allocated: TeeResources.allocations(parsing: Self.allocStats(heap: 1400, ta: 0)))
    #expect(after.leaks(since: before) == [
      "TA instance c5cea996-574b-4f9e-a8561bf4128b36ed with 2 session(s)",
      "TA instance 5b9e0e40-2636-11e1-ad9e-0002a5d5c51b with 0 session(s), panicked",
      "OP-TEE pool Heap 1000 → 1400 bytes",
    ])
    #expect(before.leaks(since: after).isEmpty)
  }

  @Test func anOCallOutcomeIsTheClientsOCallLine() throws {
    let text = """
      {"event":"opened","result":"0x00000000","origin":4,"pid":162,"at":24.222733}
      {"event":"invoking","pid":162,"at":24.232739}
      {"event":"ocall","command":"echo","memory":"registered","result":"0x00000000","origin":4,"plugin":"0x00000000","bytes":64,"returned":64,"intact":true,"sum":1623050464,"start":24.232739,"end":24.257084,"ta_ms":16}
      """
    let outcome = try #require(OCallOutcome(parsing: text))
    #expect(outcome.succeeded && outcome.intact && outcome.sum == 1_623_050_464 && outcome.taMilliseconds == 16)
    #expect(abs(outcome.seconds - 0.024345) < 1e-6)
    #expect(OCallOutcome(parsing: "{\"event\":\"invoking\",\"pid\":162,\"at\":24.2}") == nil)
  }

  @Test func thePluginLogTellsWhichBytesWereServed() {
    let log = PluginLog(lines: [
      "init pid=149 tid=149 cmd=0 arg=0 len=0 sum=0",
      "serving pid=149 tid=149 cmd=0 arg=0 len=64 sum=1623050464",
      "served pid=149 tid=149 cmd=0 arg=0 len=64 sum=1623050464",
      "serving pid=149 tid=163 cmd=2 arg=0 len=64 sum=77",
    ])
    #expect(log.serving.count == 2 && log.served.count == 1)
    #expect(log.served(sum: 1_623_050_464) && !log.served(sum: 77))
  }
}
