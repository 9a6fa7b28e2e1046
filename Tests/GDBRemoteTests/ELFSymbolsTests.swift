import Foundation
import HarnessSupport
import Testing

@testable import GDBRemote

@Suite struct ELFSymbolsTests {
  static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/elf/tiny.elf")

  @Test func readsFunctionsAndObjectsWithSizes() throws {
    let symbols = try ELFSymbols(contentsOf: Self.fixture)
    let count = try symbols.symbol("thread_count")
    #expect(count.size == 8 && count.type == 1)
    let table = try symbols.symbol("threads_table")
    #expect(table.size == 4 * 32 && table.type == 1)
    let entry = try symbols.symbol("tiny_entry")
    #expect(entry.type == 2 && entry.size > 0)
    #expect(try symbols.address("_start") != 0)
  }

  @Test func agreesWithBinutils() async throws {
    guard (try? Command.locate("aarch64-linux-gnu-nm")) != nil else { return }
    let symbols = try ELFSymbols(contentsOf: Self.fixture)
    let nm = try await Command.output(["aarch64-linux-gnu-nm", Self.fixture.path])
    var compared = 0
    for line in nm.split(separator: "\n") {
      let words = line.split(separator: " ")
      guard words.count == 3, let address = UInt64(words[0], radix: 16) else { continue }
      #expect(symbols.byName[String(words[2])]?.address == address, "\(words[2])")
      compared += 1
    }
    #expect(compared >= 5)
  }

  @Test func aMissingSymbolListsNearMatches() throws {
    let symbols = try ELFSymbols(contentsOf: Self.fixture)
    let error = #expect(throws: HarnessError.self) { try symbols.symbol("thread_cnt") }
    #expect(error?.message.contains("'thread_cnt' not found in tiny.elf") == true)
    let near = #expect(throws: HarnessError.self) { try symbols.symbol("threads") }
    #expect(near?.fix?.contains("threads_table") == true)
  }

  @Test func aFileThatIsNotELFIsRejected() {
    #expect(throws: HarnessError.self) { try ELFSymbols(data: Array("#!/bin/sh\n".utf8) + [UInt8](repeating: 0, count: 80), file: "x") }
  }

  /// Offsets and sizes are the file's word: ones past the end, or too large for an Int, are refused (found by
  /// ci/fuzz's elf target), never a trap.
  @Test func offsetsOutsideTheFileAreRefused() throws {
    let good = [UInt8](try Data(contentsOf: Self.fixture))
    for (at, value) in [(0x28, UInt64.max), (0x28, UInt64(good.count)), (0x3C, 0xFFFF)] {
      var bad = good
      for i in 0..<(at == 0x3C ? 2 : 8) { bad[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
      #expect(throws: HarnessError.self) { try ELFSymbols(data: bad, file: "bad.elf") }
    }
    let sectionHeaders = Int(good.u64(0x28)), size = Int(good.u16(0x3A))
    for i in 0..<Int(good.u16(0x3C)) {
      var bad = good
      for j in 0..<8 { bad[sectionHeaders + i * size + 0x18 + j] = 0xFF }  // each section's offset: 2^64 - 1
      _ = try? ELFSymbols(data: bad, file: "bad.elf")
    }
  }

  /// An address is told by the nearest symbol at or below it, a label without a size as much as a function, and
  /// not at all when none is near.
  @Test func anAddressIsLocatedByTheNearestSymbolBelowIt() {
    let symbols = ELFSymbols(file: "tee.elf", functions: ["el1_irq_sp1": 0x2280, "el1_fiq_sp1": 0x2300, "elx_fiq": 0x4638])
    #expect(symbols.locate(0x2300) == "el1_fiq_sp1")
    #expect(symbols.locate(0x2304) == "el1_fiq_sp1+0x4")
    #expect(symbols.locate(0x4700) == "elx_fiq+0xc8")
    #expect(symbols.locate(0x2000) == nil)
    #expect(symbols.locate(0x9000) == nil)
  }

  /// The code a CPU never leaves: symbols whose first instruction is `b .`; a branch elsewhere, a `bl` to itself or
  /// a symbol with no code loaded is not one.
  @Test func deadEndsAreTheSymbolsThatBranchToThemselves() {
    let symbols = ELFSymbols(file: "tee.elf",
      functions: ["el1_sync_sp1": 0x2200, "el1_sync_sp0": 0x2000, "spin_self": 0x3000, "no_code": 0x4000, "$x": 0x2200],
      code: [0x2200: 0x1400_0000, 0x2000: 0x1400_0400, 0x3000: 0x9400_0000])
    #expect(symbols.deadEnds == [0x2200: "el1_sync_sp1"])
    let real = try? ELFSymbols(contentsOf: Self.fixture)
    #expect(real?.deadEnds.isEmpty == true, "tiny.elf has no such loop")
  }

  /// A `static` function of the same name in several files is told at each of its addresses (tee.elf has an
  /// `_assert_trap` per file that asserts): the one kept by name must not hide the others.
  @Test func everyLocalSymbolOfOneNameTellsItsOwnAddresses() {
    func function(_ name: String, _ address: UInt64, _ size: UInt64) -> ELFSymbols.Symbol {
      .init(name: name, address: address, size: size, type: 2)
    }
    let symbols = ELFSymbols(file: "tee.elf", symbols: [
      function("_assert_trap", 0xe120000, 0x30), function("nv_counter_incr_ree_fs_to", 0xe13380c, 0x14),
      function("_assert_trap", 0xe133820, 0x30), function("cpu_spin_lock_dldetect", 0xe1338b8, 0xbc),
    ])
    #expect(symbols.locate(0xe133848) == "_assert_trap+0x28")
    #expect(symbols.locate(0xe120004) == "_assert_trap+0x4")
    #expect(symbols.locate(0xe1338fc) == "cpu_spin_lock_dldetect+0x44")
    #expect(symbols.byName["_assert_trap"]?.address == 0xe120000)
  }

  /// A `bl`'s target, forwards and backwards; any other instruction is none.
  @Test func aBranchAndLinksTargetIsDecoded() {
    #expect(ELFSymbols.branchAndLinkTarget(0x9400_0400, at: 0x1000) == 0x2000)
    #expect(ELFSymbols.branchAndLinkTarget(0x97FF_FC00, at: 0x2000) == 0x1000)
    #expect(ELFSymbols.branchAndLinkTarget(0x1400_0400, at: 0x1000) == nil)  // b, not bl
    #expect(ELFSymbols.branchAndLinkTarget(0xD65F_03C0, at: 0x1000) == nil)  // ret
  }
}
