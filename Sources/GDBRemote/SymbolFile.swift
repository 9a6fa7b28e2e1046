/// Symbols a debugger can load: a minimal ELF64 (AArch64, `ET_EXEC`) holding only a symbol table, whose
/// functions sit in an address-only `.text` section and whose variables in an address-only `.data`, so gdb treats
/// them as code and data at their true (run-time) addresses. Used for the kernel, whose symbols come from the
/// guest's `/proc/kallsyms` (Debian ships no System.map, and KASLR moves them every boot).
package enum SymbolFile {
  package struct Symbol: Sendable, Equatable {
    package var name: String
    package var address: UInt64
    package var isCode: Bool
    package init(name: String, address: UInt64, isCode: Bool) {
      self.name = name
      self.address = address
      self.isCode = isCode
    }
  }

  /// Symbols from `/proc/kallsyms` lines (`ffff800080010000 T _text`, module symbols with `\t[module]`):
  /// code (`t`/`T`) and data (`d`/`D`/`b`/`B`/`r`/`R`); other kinds, ARM mapping symbols (`$x`, `$d`), zero
  /// addresses and malformed lines are skipped.
  package static func kallsyms(_ text: String) -> [Symbol] {
    var symbols: [Symbol] = []
    for line in text.split(separator: "\n") {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard fields.count >= 3, fields[1].count == 1, !fields[2].hasPrefix("$"),
        let address = UInt64(fields[0], radix: 16), address != 0
      else { continue }
      switch fields[1].first! {
      case "t", "T": symbols.append(Symbol(name: String(fields[2]), address: address, isCode: true))
      case "d", "D", "b", "B", "r", "R": symbols.append(Symbol(name: String(fields[2]), address: address, isCode: false))
      default: continue
      }
    }
    return symbols
  }

  /// The ELF file's bytes.
  package static func elf(_ symbols: [Symbol]) -> [UInt8] {
    let code = symbols.filter(\.isCode), data = symbols.filter { !$0.isCode }
    // kallsyms gives no sizes: each section reaches a page past its last symbol.
    func span(_ s: [Symbol]) -> (start: UInt64, size: UInt64) {
      guard let low = s.map(\.address).min(), let high = s.map(\.address).max() else { return (0, 0) }
      let (size, wrapped) = (high - low).addingReportingOverflow(0x1000)
      return (low, wrapped ? UInt64.max - low : size)
    }
    let (textSpan, dataSpan) = (span(code), span(data))

    var strtab: [UInt8] = [0]
    var symtab = [UInt8](repeating: 0, count: 24)  // symbol 0 is null
    for (symbol, section) in code.map({ ($0, UInt16(1)) }) + data.map({ ($0, UInt16(2)) }) {
      let nameOffset = UInt32(strtab.count)
      strtab += Array(symbol.name.utf8) + [0]
      symtab.le(nameOffset)
      symtab.append(0x10 | (symbol.isCode ? 2 : 1))  // STB_GLOBAL, STT_FUNC or STT_OBJECT
      symtab.append(0)
      symtab.le(section)
      symtab.le(symbol.address)
      symtab.le(UInt64(0))
    }
    let names = ["", ".text", ".data", ".symtab", ".strtab", ".shstrtab"]
    var shstrtab: [UInt8] = []
    var nameOffsets: [UInt32] = []
    for name in names {
      nameOffsets.append(UInt32(shstrtab.count))
      shstrtab += Array(name.utf8) + [0]
    }

    let symtabOffset = 64
    let strtabOffset = symtabOffset + symtab.count
    let shstrtabOffset = strtabOffset + strtab.count
    let headersOffset = (shstrtabOffset + shstrtab.count + 7) & ~7

    var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
    out.le(UInt16(2))  // ET_EXEC
    out.le(UInt16(183))  // EM_AARCH64
    out.le(UInt32(1))
    out.le(UInt64(0))  // entry
    out.le(UInt64(0))  // no program headers
    out.le(UInt64(headersOffset))
    out.le(UInt32(0))
    out.le(UInt16(64))
    out.le(UInt16(0))
    out.le(UInt16(0))
    out.le(UInt16(64))
    out.le(UInt16(names.count))
    out.le(UInt16(5))  // .shstrtab
    out += symtab + strtab + shstrtab
    out += [UInt8](repeating: 0, count: headersOffset - out.count)

    func header(_ name: Int, type: UInt32, flags: UInt64 = 0, address: UInt64 = 0, offset: Int = 0, size: UInt64 = 0,
      link: UInt32 = 0, info: UInt32 = 0, align: UInt64 = 1, entsize: UInt64 = 0)
    {
      out.le(nameOffsets[name]); out.le(type); out.le(flags); out.le(address); out.le(UInt64(offset)); out.le(size)
      out.le(link); out.le(info); out.le(align); out.le(entsize)
    }
    header(0, type: 0, align: 0)
    header(1, type: 8, flags: 0x6, address: textSpan.start, size: textSpan.size, align: 4)  // NOBITS, ALLOC|EXEC
    header(2, type: 8, flags: 0x3, address: dataSpan.start, size: dataSpan.size, align: 8)  // NOBITS, WRITE|ALLOC
    header(3, type: 2, offset: symtabOffset, size: UInt64(symtab.count), link: 4, info: 1, align: 8, entsize: 24)
    header(4, type: 3, offset: strtabOffset, size: UInt64(strtab.count))
    header(5, type: 3, offset: shstrtabOffset, size: UInt64(shstrtab.count))
    return out
  }
}

extension [UInt8] {
  fileprivate mutating func le<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }
}
