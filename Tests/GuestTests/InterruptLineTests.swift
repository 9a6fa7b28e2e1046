import Guest
import Testing

@Suite struct InterruptLineTests {
  let header = "           CPU0       CPU1       "

  @Test func aDeviceInterruptGivesItsNumberCountsAndName() throws {
    let line = try #require(InterruptLine(header: header,
      line: " 13:         17          4     GICv3  77 Edge      optee_notification"))
    #expect(line.irq == "13")
    #expect(line.counts == [17, 4])
    #expect(line.total == 21)
    #expect(line.name == "GICv3 77 Edge optee_notification")
    #expect(line.hardwareNumber == 77, "the GIC's INTID, where the suites arm a pending check")
    let ipi = try #require(InterruptLine(header: header, line: "IPI0:       120        98       Rescheduling interrupts"))
    #expect(ipi.hardwareNumber == nil)
  }

  @Test func theNumberOfCPUsComesFromTheHeader() throws {
    let one = try #require(InterruptLine(header: "           CPU0       ", line: " 11:       2310     GICv3  27 Level     arch_timer"))
    #expect(one.counts == [2310])
    #expect(one.name.hasSuffix("arch_timer"))
  }

  @Test func linesThatAreNotInterruptsAreRefused() {
    #expect(InterruptLine(header: header, line: "Err:          0") == nil, "one count for two CPUs")
    #expect(InterruptLine(header: header, line: "grep: /proc/interrupts: No such file") == nil)
    #expect(InterruptLine(header: "", line: " 13:  1  2  GICv3  77 Edge  x") == nil, "no CPU columns")
    #expect(InterruptLine(header: header, line: "no colon here") == nil)
    #expect(InterruptLine(header: header, line: " 13: 9223372036854775807 9223372036854775807 GICv3 77 Edge x") == nil,
      "Linux prints 32-bit counts: larger numbers are not counts (and their sum would overflow)")
  }
}
