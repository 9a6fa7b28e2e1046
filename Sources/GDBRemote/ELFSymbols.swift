import Foundation
import HarnessSupport

/// The symbol table of an ELF64 little-endian file (tee.elf, bl31.elf): names to addresses and sizes.
package struct ELFSymbols: Sendable {
  package struct Symbol: Sendable, Equatable {
    package var name: String
    package var address: UInt64
    package var size: UInt64
    /// `STT_FUNC` (2) or `STT_OBJECT` (1) and so on.
    package var type: UInt8
  }

  package let file: String
  package private(set) var byName: [String: Symbol] = [:]
  /// Every symbol, also the local ones that share a name (a `static` function in several files): where an address
  /// is told from.
  private var all: [Symbol] = []
  /// The file's sections that occupy memory with contents (code, data): where each is loaded and its bytes.
  private var loaded: [(address: UInt64, bytes: ArraySlice<UInt8>)] = []

  /// Reads `.symtab` (or `.dynsym`) of `url`.
  /// - Throws: `HarnessError` when the file is not an ELF64 little-endian file or has no symbol table.
  package init(contentsOf url: URL) throws {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError("cannot read \(url.path)", fix: "build the images (`swift run teeharness images build`)")
    }
    try self.init(data: [UInt8](data), file: url.lastPathComponent)
  }

  /// A table given by hand (for tests): function symbols at the given addresses, and the code words `code` loads.
  package init(file: String, functions: [String: UInt64], code: [UInt64: UInt32] = [:]) {
    self.file = file
    for (name, address) in functions { byName[name] = Symbol(name: name, address: address, size: 4, type: 2) }
    all = Array(byName.values)
    loaded = code.map { address, word in (address: address, bytes: ArraySlice((0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) })) }
  }

  /// A table given by hand (for tests): these symbols, the first of each name kept by name.
  package init(file: String, symbols: [Symbol]) {
    self.file = file
    for symbol in symbols where byName[symbol.name] == nil { byName[symbol.name] = symbol }
    all = symbols
  }

  package init(data: [UInt8], file: String) throws {
    self.file = file
    func fail(_ why: String) -> HarnessError { HarnessError("\(file) is not a usable ELF file: \(why)") }
    guard data.count >= 64, data[0] == 0x7F, data[1] == 0x45, data[2] == 0x4C, data[3] == 0x46 else { throw fail("no ELF magic") }
    guard data[4] == 2, data[5] == 1 else { throw fail("not 64-bit little-endian") }
    // Every offset and size is the file's word, not ours: each is checked against the bytes there are before use.
    func inside(_ offset: Int, _ size: Int) -> Bool { offset >= 0 && size >= 0 && offset <= data.count && size <= data.count - offset }
    let sectionOffset = Int(exactly: data.u64(0x28)) ?? -1
    let sectionSize = Int(data.u16(0x3A))
    let sectionCount = Int(data.u16(0x3C))
    guard sectionOffset > 0, sectionSize >= 64, inside(sectionOffset, sectionSize * sectionCount) else {
      throw fail("bad section headers")
    }
    struct Section { var type: UInt32; var flags: UInt64; var address: UInt64; var offset: Int; var size: Int; var link: Int; var entsize: Int }
    let sections = (0..<sectionCount).map { i -> Section in
      let base = sectionOffset + i * sectionSize
      return Section(type: data.u32(base + 4), flags: data.u64(base + 8), address: data.u64(base + 0x10),
        offset: Int(exactly: data.u64(base + 0x18)) ?? -1, size: Int(exactly: data.u64(base + 0x20)) ?? -1,
        link: Int(data.u32(base + 0x28)), entsize: Int(exactly: data.u64(base + 0x38)) ?? -1)
    }
    // SHT_PROGBITS with SHF_ALLOC: what the loader puts in memory as the file has it.
    loaded = sections.filter { $0.type == 1 && $0.flags & 2 != 0 && inside($0.offset, $0.size) && $0.address != 0 }
      .map { ($0.address, data[$0.offset..<($0.offset + $0.size)]) }
    guard let table = sections.first(where: { $0.type == 2 }) ?? sections.first(where: { $0.type == 11 }),
      table.link < sections.count, table.entsize >= 24
    else { throw fail("no symbol table") }
    let strings = sections[table.link]
    guard inside(table.offset, table.size), inside(strings.offset, strings.size) else {
      throw fail("symbol table outside the file")
    }
    for i in 0..<(table.size / table.entsize) {
      let base = table.offset + i * table.entsize
      let nameOffset = Int(data.u32(base))
      guard nameOffset > 0, nameOffset < strings.size else { continue }
      let start = strings.offset + nameOffset
      guard let end = data[start..<(strings.offset + strings.size)].firstIndex(of: 0) else { continue }
      let name = String(decoding: data[start..<end], as: UTF8.self)
      let symbol = Symbol(name: name, address: data.u64(base + 8), size: data.u64(base + 16), type: data[base + 4] & 0x0F)
      if byName[name] == nil || byName[name]!.address == 0 { byName[name] = symbol }
      all.append(symbol)
    }
  }

  /// The symbol called `name`.
  /// - Throws: `HarnessError` listing near matches when there is none.
  package func symbol(_ name: String) throws -> Symbol {
    if let symbol = byName[name] { return symbol }
    let lower = name.lowercased()
    let near = byName.keys.filter { $0.lowercased().contains(lower) || lower.contains($0.lowercased()) && $0.count > 3 }
      .sorted().prefix(8)
    throw HarnessError("symbol '\(name)' not found in \(file)",
      fix: near.isEmpty ? "check the name against the build" : "near matches: \(near.joined(separator: ", "))")
  }

  package func address(_ name: String) throws -> UInt64 { try symbol(name).address }

  /// The 32-bit little-endian word the file loads at `address`, or nil when no loaded section holds it.
  package func word(at address: UInt64) -> UInt32? {
    for section in loaded where address >= section.address && address - section.address + 4 <= UInt64(section.bytes.count) {
      let at = section.bytes.startIndex + Int(address - section.address)
      return (0..<4).reduce(UInt32(0)) { $0 | UInt32(section.bytes[at + $1]) << (8 * UInt32($1)) }
    }
    return nil
  }

  /// The code a CPU never leaves once there: every symbol whose first instruction is a branch to itself
  /// (AArch64 `b .`, 0x14000000) — the entries of an exception vector its author declared unrecoverable (OP-TEE's
  /// for an exception taken on its own exception stack, `el1_sync_sp1`), by address.
  package var deadEnds: [UInt64: String] {
    var ends: [UInt64: String] = [:]
    for symbol in all where symbol.address != 0 && !symbol.name.hasPrefix("$") && word(at: symbol.address) == 0x1400_0000 {
      // Two names at one address: one, always the same.
      if let other = ends[symbol.address], other < symbol.name { continue }
      ends[symbol.address] = symbol.name
    }
    return ends
  }

  /// Where `caller`'s calls to `callee` return: past each AArch64 `bl` in `caller` (its symbol's size, else
  /// `reach` bytes from its start) whose target is `callee`.
  /// - Throws: `HarnessError` when either symbol is missing.
  package func returns(from caller: String, callingTo callee: String, reach: UInt64 = 0x400) throws -> [UInt64] {
    let start = try symbol(caller), target = try address(callee)
    // A label without a size ends at the next symbol; a size is the file's word, bounded like the rest.
    let next = byName.values.lazy.filter { $0.address > start.address }.map(\.address).min() ?? .max
    let length = min(start.size > 0 ? start.size : min(reach, next - start.address), 0x10_0000)
    let (end, overflow) = start.address.addingReportingOverflow(length)
    guard !overflow else { return [] }
    return stride(from: start.address, to: end, by: 4).compactMap { pc in
      guard let instruction = word(at: pc), let to = Self.branchAndLinkTarget(instruction, at: pc), to == target else { return nil }
      return pc + 4
    }
  }

  /// The target of an AArch64 `bl` (`100101` and a signed 26-bit word offset) at `pc`, or nil for any other
  /// instruction.
  package static func branchAndLinkTarget(_ instruction: UInt32, at pc: UInt64) -> UInt64? {
    guard instruction & 0xFC00_0000 == 0x9400_0000 else { return nil }
    let offset = Int64(Int32(bitPattern: instruction << 6) >> 6) * 4
    return UInt64(bitPattern: Int64(bitPattern: pc) &+ offset)
  }

  /// Where `address` is, by the nearest symbol at or below it within `reach` bytes ("el1_fiq_sp1",
  /// "interrupt_call_handlers+0x3c"), or nil when no symbol is that near. Labels without a size (a vector's
  /// entries) count as much as functions.
  package func locate(_ address: UInt64, reach: UInt64 = 0x1000) -> String? {
    // Mapping symbols (`$x`, `$d`) say nothing; at one address a function's name wins over a label's.
    let nearest = all.filter { $0.address != 0 && $0.address <= address && address - $0.address < max(reach, $0.size) && !$0.name.hasPrefix("$") }
      .max { ($0.address, $0.type == 2 ? 1 : 0, $1.name) < ($1.address, $1.type == 2 ? 1 : 0, $0.name) }
    return nearest.map { $0.address == address ? $0.name : "\($0.name)+0x\(String(address - $0.address, radix: 16))" }
  }
}

extension Array where Element == UInt8 {
  func u16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
  func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[at + $1]) << (8 * UInt32($1)) } }
  func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[at + $1]) << (8 * UInt64($1)) } }
}
