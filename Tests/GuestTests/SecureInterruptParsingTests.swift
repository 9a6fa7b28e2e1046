import Console
import GDBRemote
import Guest
import Testing

@Suite struct SecureInterruptParsingTests {
  func line(_ time: Double, _ text: String) -> Transcript.Line { Transcript.Line(time: time, text: text) }

  @Test func aTrailWritesEachRunOfRepeatsOnceWithItsCount() {
    let irq = InterruptPath.irqFromUser.name
    #expect(InterruptPath.trail(Array(repeating: [irq, "elx_irq"], count: 10).flatMap { $0 } + ["console_itr_cb"])
      == "(\(irq) → elx_irq) × 10 → console_itr_cb")
    #expect(InterruptPath.trail(["a", "b", "b", "b", "c"]) == "a → b × 3 → c")
    #expect(InterruptPath.trail(["a", "b", "a", "c"]) == "a → b → a → c")
    #expect(InterruptPath.trail([]) == "nothing")
  }

  @Test func consoleReadsAreParsedWithTheirThreadField() {
    let input = SecureConsoleInput(lines: [
      line(1.0, "D/TC:? 0 read_console:119 got 0x41"),
      line(1.1, "D/TC:0 0 test_wd_callback:49 WD call_count 8, timeout_count 0"),
      line(1.2, "D/TC:1 0 read_console:119 got 0x7f\r"),
    ])
    #expect(input.reads.map(\.byte) == [0x41, 0x7f])
    #expect(input.reads.map(\.thread) == ["?", "1"])
    #expect(input.firstRead(of: 0x7f, after: 1.1)?.time == 1.2)
    #expect(input.firstRead(of: 0x41, after: 1.1) == nil)
  }

  @Test func missingTwiceAndOutOfOrderBytesAreNamed() {
    let reads = { (bytes: [UInt8]) in
      SecureConsoleInput(lines: bytes.enumerated().map { self.line(Double($0.offset), "read_console:119 got 0x\(String($0.element, radix: 16))") })
    }
    #expect(reads([0x61, 0x0d, 0x62]).problems(typed: [0x61, 0x62]).isEmpty, "another writer's byte is ignored")
    #expect(reads([0x61]).problems(typed: [0x61, 0x62]) == ["not read while the test waited: 0x62"])
    #expect(reads([0x61, 0x61, 0x62]).problems(typed: [0x61, 0x62]) == ["read more than once: 0x61"])
    #expect(reads([0x62, 0x61]).problems(typed: [0x61, 0x62]) == ["out of order: typed 0x61 0x62, read 0x62 0x61"])
  }

  @Test func theEntryBeforeAHandlerTellsWhereTheCPUWas() {
    let now = ContinuousClock.now
    func hit(_ name: String, _ cpu: Int) -> WatchHit { WatchHit(name: name, cpu: cpu, at: now) }
    let log = [
      hit("opteed_sel1_interrupt_handler", 0), hit("vector_fiq_entry", 0), hit("elx_irq", 1), hit("console_itr_cb", 0),
      hit("elx_irq", 0), hit("console_itr_cb", 0), hit("console_itr_cb", 1), hit("console_itr_cb", 1),
      hit("vector_fiq_entry", 0), hit("console_itr_cb", 0),
    ]
    #expect(InterruptRoute.smc.paths(of: "console_itr_cb", in: log) == [
      .fromNormalWorldThroughEL3, .inSecureWorld, .inSecureWorld, .unknown, .unknown,
    ])
    #expect(InterruptPath.summary([.inSecureWorld, .inSecureWorld, .unknown]) == "2 taken directly in the secure world, 1 entry not seen")
  }

  /// Over FF-A both routes end at OP-TEE's IRQ vector: only the SPMD's handler just before it tells that the CPU
  /// was in the normal world; the vector alone (or after another CPU's SPMD entry) is the secure world's.
  @Test func overFFATheSPMDBeforeTheIRQVectorTellsTheNormalWorld() {
    let now = ContinuousClock.now
    func hit(_ name: String, _ cpu: Int) -> WatchHit { WatchHit(name: name, cpu: cpu, at: now) }
    let log = [
      hit("spmd_secure_interrupt_handler", 0), hit("elx_irq", 0), hit("console_itr_cb", 0),
      hit("elx_irq", 0), hit("console_itr_cb", 0),
      hit("spmd_secure_interrupt_handler", 1), hit("elx_irq", 0), hit("console_itr_cb", 0),
      hit("spmd_secure_interrupt_handler", 0), hit("console_itr_cb", 0),
    ]
    #expect(InterruptRoute.ffa.paths(of: "console_itr_cb", in: log) == [.fromNormalWorldThroughEL3, .inSecureWorld, .inSecureWorld, .unknown])
    #expect(InterruptRoute.ffa.entrySymbols == ["spmd_secure_interrupt_handler", "elx_irq"])
    #expect(InterruptRoute.ffa.handovers(in: log) == (1, 1, 0), "CPU 1's SPMD entry and the last one are followed by nothing watched: not counted")
    let storm = [hit("spmd_secure_interrupt_handler", 0), hit("thread_spmc_msg_recv", 0), hit("spmd_secure_interrupt_handler", 0),
      hit("thread_spmc_msg_recv", 0), hit("elx_irq", 0), hit("elx_irq", 1), hit("spmd_secure_interrupt_handler", 0)]
    #expect(InterruptRoute.ffa.handovers(in: storm) == (2, 0, 2), "OP-TEE received the message twice, its IRQ vector ran only later")
    let smcStorm = [hit("opteed_sel1_interrupt_handler", 0), hit("opteed_sel1_interrupt_handler", 0), hit("vector_fiq_entry", 0),
      hit("opteed_sel1_interrupt_handler", 0)]
    #expect(InterruptRoute.smc.handovers(in: smcStorm) == (2, 1, 0), "the first EL3 entry was followed by another, not by OP-TEE's entry")
    let working = [hit("spmd_secure_interrupt_handler", 0), hit("elx_irq", 0), hit("console_itr_cb", 0), hit("thread_spmc_msg_recv", 0)]
    #expect(InterruptRoute.ffa.handovers(in: working) == (1, 1, 1))
    let nextCall = [hit("spmd_secure_interrupt_handler", 0), WatchHit(name: "thread_spmc_msg_recv", cpu: 0, at: now + .seconds(2))]
    #expect(InterruptRoute.ffa.handovers(in: nextCall) == (1, 0, 0), "a message 2 s after EL3's handler is the CPU's next call, not the handover")
    let dropped = [WatchHit(name: "opteed_sel1_interrupt_handler", cpu: 0, at: now)]
    #expect(InterruptRoute.smc.handovers(in: dropped, ended: now + .seconds(3)) == (1, 0, 0),
      "the only EL3 entry of a watch that went on 3 s without OP-TEE's entry: taken, not handed")
    #expect(InterruptRoute.smc.handovers(in: dropped, ended: now + .milliseconds(200)) == (0, 0, 0), "a watch that ended right after it: not decided")
    #expect(InterruptRoute.ffa.entersOPTEE(0x8400_006F) && InterruptRoute.ffa.entersOPTEE(0xC400_006F) && !InterruptRoute.ffa.entersOPTEE(0x8400_0063))
    #expect(InterruptRoute.smc.entersOPTEE(0x3200_0004) && !InterruptRoute.smc.entersOPTEE(0xB200_0000))
    #expect(InterruptRoute(.ffa) == .ffa && InterruptRoute(nil) == .smc)
  }

  @Test func theRoutingTableListsAllNineCasesInOrder() {
    let rows = [RoutingRow(.secureInNormal, handler: "OP-TEE", count: 5, verdict: "passed"),
      RoutingRow(.nonSecureInNormal, handler: "Linux", count: 2, verdict: "passed")]
    let table = RoutingRow.table(rows)
    #expect(table.count == 10)
    #expect(table[1].hasPrefix("1 ") && table[1].contains("Linux") && table[1].hasSuffix("passed"))
    #expect(table[6].hasPrefix("6 ") && table[6].contains("| 5 "))
    #expect(table[2].hasSuffix("not run"))
    #expect(Set(table.map { $0.firstIndex(of: "|")! }).count == 1, "columns line up")
  }

  @Test func theDeviceTreeCellsGiveTheNotificationInterrupt() {
    #expect(NotificationInterrupt(deviceTreeCells: "00000000000000bb00000001") == NotificationInterrupt(deviceTreeCells: "00000000000000bb00000001"))
    #expect(NotificationInterrupt(deviceTreeCells: "00000000000000bb00000001")?.intid == 219)
    #expect(NotificationInterrupt(deviceTreeCells: "00000000000000bb00000001")?.edge == true)
    #expect(NotificationInterrupt(deviceTreeCells: "000000010000000d00000004")?.intid == 29)
    #expect(NotificationInterrupt(deviceTreeCells: "00bb") == nil)
  }

  @Test func watchdogLinesGiveTheirCounts() {
    let line = WatchdogLine(parsing: "D/TC:0 0 test_wd_callback:49 WD call_count 60, timeout_count 2")
    #expect(line?.calls == 60 && line?.timeouts == 2)
    #expect(WatchdogLine(parsing: "D/TC:? 1 wd_ndrv_yielding_cb:85 Clearing pending") == nil)
  }

  @Test func eachByteIsPairedWithItsTopHalfBottomHalfAndLine() {
    let input = SecureConsoleInput(lines: [line(1.05, "read_console:119 got 0x61"), line(2.2, "read_console:119 got 0x62")])
    let typed = TypedBytes(bytes: [0x61, 0x62, 0x63], typedAt: [1.0, 2.0, 3.0], input: input)
    let chains = NotificationChain.chains(typed: typed, topHalves: [1.01, 2.01], bottomHalves: [0.5, 1.03, 2.1])
    #expect(chains.map(\.isComplete) == [true, true, false])
    #expect(abs((chains[0].toBottomHalf ?? 0) - 0.02) < 1e-9)
    #expect(abs((chains[1].toPrinted ?? 0) - 0.19) < 1e-9)
    #expect(chains[2].toTopHalf == nil)
  }

  @Test func aBytePrintedByABottomHalfThatBeganBeforeItsTopHalfCompletesItsChain() {
    // The watchdog's bottom half began at 0.99; the byte's top half interrupted it at 1.01 and it printed the
    // byte at 1.02; the byte's own bottom half came at 1.03 and found nothing left.
    let input = SecureConsoleInput(lines: [line(1.02, "read_console:119 got 0x61")])
    let typed = TypedBytes(bytes: [0x61], typedAt: [1.0], input: input)
    let chain = NotificationChain.chains(typed: typed, topHalves: [1.01], bottomHalves: [0.99, 1.03])[0]
    #expect(chain.isComplete, "\(chain)")
    // Printed with no bottom half begun (read by the top half itself): broken.
    let byTop = NotificationChain.chains(typed: typed, topHalves: [1.01], bottomHalves: [0.2, 1.03])[0]
    #expect(!byTop.isComplete && byTop.description.hasSuffix("with no bottom half begun"), "\(byTop)")
  }
}

/// OP-TEE's call stacks, as its panics print them, told by function.
@Suite struct OpteeCallStackTests {
  static let panic = [
    "E/TC:0 0  0x00000000",
    "E/TC:?   assertion 'thread_foreign_intr_disabled()' failed at core/include/kernel/spinlock.h:77 <cpu_spin_lock_dldetect>",
    "E/TC:0   Panic at core/kernel/assert.c:28 <_assert_break>",
    "E/TC:0   TEE load address @ 0xe100000",
    "E/TC:0   Call stack:",
    "E/TC:0    0x0e10ab8c",
    "E/TC:0    0x0e11c15c",
    "I/TC: Halting CPU 1",
    "E/TC:0   Call stack:",
    "E/TC:0    0x0e999999",
  ]

  @Test func theFirstCallStackAfterTheAlarmsLineIsRead() {
    #expect(OpteeCallStack.frames(in: Self.panic, after: Self.panic[1]) == [0xe10ab8c, 0xe11c15c])
    #expect(OpteeCallStack.frames(in: Self.panic, after: "a line that is not there") == [0xe10ab8c, 0xe11c15c])
    #expect(OpteeCallStack.frames(in: Array(Self.panic.prefix(4)), after: Self.panic[1]).isEmpty, "no call stack printed")
    #expect(OpteeCallStack.frame("E/TC:0    0x") == nil && OpteeCallStack.frame("E/TC:0    0x0123456789abcdef01") == nil)
  }

  @Test func framesAreToldByFunctionTheCallersAtTheirCall() {
    let names: [UInt64: String] = [0xe10ab8c: "_assert_break+0x10", 0xe11c158: "cpu_spin_lock_dldetect+0x40"]
    let said = OpteeCallStack.described([0xe10ab8c, 0xe11c15c, 0x42], locate: { names[$0] })
    #expect(said == "_assert_break ← cpu_spin_lock_dldetect ← 0x42")
  }
}
