import Foundation
import HarnessSupport
import Testing

@testable import GDBRemote

@Suite struct SymbolFileTests {
  static let kallsyms = """
    ffff800080000000 T _text
    ffff800080010000 t __do_softirq
    ffff8000803a1c40 T schedule
    ffff800081f20000 D jiffies
    ffff800082000000 b optee_svc	[optee]
    ffff800082000010 d $d	[optee]
    ffff800080000040 t $x
    ffff800081000000 r some_rodata
    0000000000000000 A fixed_percpu_data
    ffff800080000100 a absolute_thing
    garbage line
    """

  @Test func kallsymsKeepsCodeAndDataOnly() {
    let symbols = SymbolFile.kallsyms(Self.kallsyms)
    #expect(symbols.map(\.name) == ["_text", "__do_softirq", "schedule", "jiffies", "optee_svc", "some_rodata"])
    #expect(symbols.filter(\.isCode).map(\.name) == ["_text", "__do_softirq", "schedule"])
    #expect(symbols[2].address == 0xffff_8000_803a_1c40)
  }

  @Test func writtenFileReadsBackAtTheSameAddresses() throws {
    let symbols = SymbolFile.kallsyms(Self.kallsyms)
    let table = try ELFSymbols(data: SymbolFile.elf(symbols), file: "kernel.sym")
    for symbol in symbols {
      #expect(try table.address(symbol.name) == symbol.address, "\(symbol.name)")
      #expect(try table.symbol(symbol.name).type == (symbol.isCode ? 2 : 1))
    }
  }

  @Test func gdbSeesFunctionsAndVariables() async throws {
    guard (try? Command.locate("gdb-multiarch")) != nil else { return }
    let file = ScratchFolder.path("symbolfile-\(getpid()).elf")
    defer { try? FileManager.default.removeItem(at: file) }
    try Data(SymbolFile.elf(SymbolFile.kallsyms(Self.kallsyms))).write(to: file)
    let out = try await Command.output(["gdb-multiarch", "-q", "-nx", "-batch", "-ex", "add-symbol-file \(file.path)",
      "-ex", "info symbol 0xffff8000803a1c48", "-ex", "info address jiffies", "-ex", "info address schedule"])
    #expect(out.contains("schedule + 8 in section .text"), "\(out)")
    #expect(out.contains("Symbol \"jiffies\" is at 0xffff800081f20000"), "\(out)")
    #expect(out.contains("Symbol \"schedule\" is at 0xffff8000803a1c40"), "\(out)")
  }
}
