import Foundation
import Testing

@testable import Guest

@Suite struct CallTimelineTests {
  /// K calls of `ms` served by `threads` threads in waves, as the client prints them: the TA's own entry and
  /// return on the secure clock (ms, the next wave entering in the millisecond the last returned), and the
  /// client's return `late` seconds after (call i's client thread waking late, as on a busy host).
  static func flood(_ k: Int, threads: Int, ms: Int, t0: Double = 100, late: (Int) -> Double = { _ in 0.004 }) -> String {
    var lines = (0..<k).map { i in "{\"event\":\"invoking\",\"call\":\(i),\"at\":\(t0)}" }
    for i in 0..<k {
      let wave = i / threads, taIn = 7000 + wave * (ms + 1), taOut = taIn + ms + 1
      let end = t0 + Double(wave + 1) * (Double(ms + 1) / 1000) + late(i)
      lines.append(
        "{\"event\":\"call\",\"call\":\(i),\"command\":\"wait\",\"ms\":\(ms),\"opened\":true,\"result\":\"0x00000000\",\"origin\":4,\"start\":\(t0),\"end\":\(end),\"ta_ms\":\(ms + 1),\"ta_in\":\(taIn),\"ta_out\":\(taOut)}")
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
    #expect(timeline.endsDescription == "0.50 0.50 1.01 1.01 1.51 1.51 2.01 2.01")
  }

  @Test func aClientThreadThatWakesLateDoesNotMakeCallsOverlap() {
    // The first wave's clients return 300 ms after their TA did: on the client's clock their calls seem to run
    // into the second wave's; on the secure clock they do not.
    let timeline = CallTimeline(parsing: Self.flood(8, threads: 2, ms: 500, late: { $0 < 2 ? 0.3 : 0.004 }))
    #expect(timeline.peakInSecureWorld() == 2)
    #expect(timeline.wavesViolated(threads: 2).isEmpty)
  }

  @Test func callsWithoutTheTAsTimesAreNotCounted() {
    let text = """
      {"event":"call","call":0,"command":"panic","ms":0,"opened":true,"result":"0xffff3024","origin":3,"start":1.0,"end":1.2,"ta_ms":0,"ta_in":0,"ta_out":0}
      {"event":"call","call":1,"command":"wait","ms":500,"opened":true,"result":"0x00000000","origin":4,"start":1.0,"end":1.6,"ta_ms":500}
      """
    let timeline = CallTimeline(parsing: text)
    #expect(timeline.calls.map(\.secureInterval) == [0..<0, nil])
    #expect(timeline.peakInSecureWorld() == 0)
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
