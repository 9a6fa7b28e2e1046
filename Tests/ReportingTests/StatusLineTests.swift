import Testing

@testable import Reporting

@Suite struct StatusLineTests {
  /// The status line stays narrower than the terminal, whatever the test's name: its middle gives way.
  @Test(arguments: [20, 60, 100, 200])
  func theStatusLineFitsTheTerminal(width: Int) {
    let name = "secure-interrupts/case 6: Secure Group 1 while the CPU is in the normal world: bytes typed at the secure console while Linux idles"
    let line = StatusLine.fitted("  … \(name)", suffix: " 12 s", width: width)
    #expect(line.count < max(width, 14), "\(line.count) columns: \(line)")
    #expect(line.hasPrefix("  … s") && line.hasSuffix(" 12 s"))
    if width >= 60 { #expect(line.hasPrefix("  … secure-interrupts/") && line.hasSuffix("Linux idles 12 s")) }
    #expect(StatusLine.fitted("  … boot/short", suffix: " 1 s", width: width) == "  … boot/short 1 s" || width < 20)
  }
}
