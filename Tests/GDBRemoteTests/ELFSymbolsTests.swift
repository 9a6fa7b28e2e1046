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
}
