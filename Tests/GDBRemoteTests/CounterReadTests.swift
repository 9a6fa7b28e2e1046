import Foundation
import Testing

@testable import GDBRemote

@Suite struct CounterReadTests {
  static func words(_ words: [UInt32]) -> [UInt8] { words.flatMap { w in (0..<4).map { UInt8(w >> (8 * $0) & 0xff) } } }

  @Test func theFirstCounterReadIsFoundWithItsRegister() throws {
    // OP-TEE's read_cntpct: paciasp; mrs x0, cntpct_el0; autiasp; ret.
    let plain = try #require(CounterRead.first(in: Self.words([0xd503_233f, 0xd53b_e020, 0xd503_23bf, 0xd65f_03c0])))
    #expect(plain.offset == 4 && plain.kind == .cntpct && plain.register == 0 && !plain.kind.isVirtual)
    // nop; mrs x3, cntvctss_el0; a virtual read; none; a truncated word.
    #expect(CounterRead.first(in: Self.words([0xd503_201f, 0xd53b_e0c3]))?.kind == .cntvctss)
    #expect(CounterRead.first(in: Self.words([0xd53b_e042]))?.kind.isVirtual == true)
    #expect(CounterRead.first(in: Self.words([0xd503_3fdf, 0xd65f_03c0])) == nil)
    #expect(CounterRead.first(in: [0x20, 0xe0, 0x3b]) == nil)
    // MRS into XZR reads nothing back.
    #expect(CounterRead.first(in: Self.words([0xd53b_e03f])) == nil)
  }

  @Test func aReadingIsOnOPTEEsMillisecondScale() {
    #expect(CounterReading(count: 62_500_000 * 31 + 6_250_000, frequency: 62_500_000).milliseconds == 31_100)
    #expect(CounterReading(count: 5, frequency: 0).milliseconds.isNaN)
  }
}
