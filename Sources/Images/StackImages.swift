import Foundation

/// Where a built stack's files are: what `teeharness images path` prints and the machine boots.
public struct StackImages: Sendable, Codable, Equatable {
  public var manifest: String
  /// The stack's digest: the sha256 of every component key.
  public var digest: String
  /// Component → its key in the store.
  public var keys: [String: String]
  public var bl1: URL
  public var bl2: URL
  public var bl31: URL
  public var bl32: URL
  public var bl32Extra1: URL
  public var bl32Extra2: URL
  public var bl33: URL
  public var kernel: URL
  public var initramfs: URL
  public var teeElf: URL
  public var bl31Elf: URL
  public var bl1Elf: URL
  public var bl2Elf: URL
  public var opteeConfig: URL
  public var taDevKit: URL
  public var systemMap: URL?
  public var kernelRelease: String
  /// The QEMU binary the machine runs.
  public var qemu: URL

  /// The files BL1 loads by semihosting from the machine's run folder, by the names it asks for.
  public var semihostingFiles: [(name: String, file: URL)] {
    [("bl2.bin", bl2), ("bl31.bin", bl31), ("bl32.bin", bl32), ("bl32_extra1.bin", bl32Extra1),
     ("bl32_extra2.bin", bl32Extra2), ("bl33.bin", bl33)]
  }
}
