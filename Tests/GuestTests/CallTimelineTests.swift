import Foundation
import Testing

@testable import Guest

@Suite struct CallTimelineTests {
  /// K calls of `ms` served by `threads` threads in waves, as the client prints them (TA measures its part).
  static func flood(_ k: Int, threads: Int, ms: Int, t0: Double = 100) -> String {
    var lines = (0..<k).map { i in "{\"event\":\"invoking\",\"call\":\(i),\"at\":\(t0)}" }
    for i in 0..<k {
      let end = t0 + Double(i / threads + 1) * (Double(ms) / 1000) + 0.004
      lines.append(
        "{\"event\":\"call\",\"call\":\(i),\"command\":\"wait\",\"ms\":\(ms),\"opened\":true,\"result\":\"0x00000000\",\"origin\":4,\"start\":\(t0),\"end\":\(end),\"ta_ms\":\(ms + 1)}")
    }
    lines.append("{\"event\":\"summary\",\"calls\":\(k),\"ok\":\(k),\"failed\":0,\"start\":\(t0 - 0.1),\"end\":\(t0 + 3)}")
    return lines.joined(separator: "\n")
  }

  @Test func eightWaitsOnTwoThreadsComeInFourWaves() {
    let timeline = CallTimeline(parsing: Self.flood(8, threads: 2, ms: 500))
    #expect(timeline.calls.count == 8 && timeline.isComplete && timeline.failures.isEmpty)
    #expect(timeline.peakInSecureWorld() == 2)
    #expect(timeline.wavesViolated(threads: 2).isEmpty)
    #expect(timeline.lowerBound(threads: 2) == 2.0)
    #expect(timeline.wallSeconds >= 2.0)
    #expect(timeline.endsDescription == "0.50 0.50 1.00 1.00 1.50 1.50 2.00 2.00")
  }

  @Test func moreCallsInTheSecureWorldThanThreadsIsSeen() {
    // Served three at a time although the stack has two threads.
    let timeline = CallTimeline(parsing: Self.flood(6, threads: 3, ms: 500))
    #expect(timeline.peakInSecureWorld() == 3)
    #expect(timeline.wavesViolated(threads: 2).count == 3)
  }

  @Test func failedCallsAndForeignLinesAreKept() {
    let text = """
      {"event":"call","call":1,"command":"wait","ms":500,"opened":true,"result":"0xffff3024","origin":3,"start":1.0,"end":1.2,"ta_ms":0}
      Segmentation fault
      {"event":"call","call":0,"command":"wait","ms":500,"opened":false,"result":"0xffff000c","origin":2,"start":1.0,"end":1.0,"ta_ms":0}
      """
    let timeline = CallTimeline(parsing: text)
    #expect(timeline.calls.map(\.index) == [0, 1])
    #expect(timeline.failures.count == 2 && !timeline.isComplete)
    #expect(timeline.otherLines == ["Segmentation fault"])
  }
}
