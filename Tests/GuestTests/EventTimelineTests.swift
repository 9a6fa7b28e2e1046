import Testing
@testable import Guest

@Suite struct EventTimelineTests {
  @Test func runsOfOneEventAreSaidOnceWithTheirCountAndSpan() {
    let timeline = EventTimeline([
      .init(1.2, "thread_spmc_msg_recv on CPU 0"), .init(1.0, "typed 0"), .init(1.4, "thread_spmc_msg_recv on CPU 0"),
      .init(1.5, "OP-TEE read 0"), .init(1.3, "thread_spmc_msg_recv on CPU 0"),
    ])
    #expect(timeline.lines() == ["1.000 typed 0", "1.200–1.400 thread_spmc_msg_recv on CPU 0 ×3", "1.500 OP-TEE read 0"])
  }

  @Test func aLongTimelineKeepsItsEndAndSaysWhatItLeftOut() {
    let timeline = EventTimeline((0..<10).map { .init(Double($0), "event \($0)") })
    #expect(timeline.lines(limit: 4) == ["(7 earlier lines left out)", "7.000 event 7", "8.000 event 8", "9.000 event 9"])
    #expect(timeline.lines(limit: 10).count == 10)
  }

  @Test func aStormOfTwoAlternatingHitsIsOneLineAndTheKeystrokesStay() {
    // EL3 hands the interrupt over, OP-TEE answers without taking it, again and again: 2000 hits between two bytes.
    let storm = (0..<1000).flatMap { i in
      [EventTimeline.Event(2 + Double(i) * 0.001, "spmd_secure_interrupt_handler on CPU 0"),
       EventTimeline.Event(2.0002 + Double(i) * 0.001, "thread_spmc_msg_recv on CPU 0")]
    }
    let timeline = EventTimeline([.init(1.0, "typed 0"), .init(1.5, "OP-TEE read 0"), .init(1.9, "typed 1")] + storm + [.init(3.5, "typed 2")])
    #expect(timeline.lines(limit: 80) == ["1.000 typed 0", "1.500 OP-TEE read 0", "1.900 typed 1",
      "2.000–2.999 (spmd_secure_interrupt_handler on CPU 0 → thread_spmc_msg_recv on CPU 0) ×1000", "3.500 typed 2"])
  }
}
