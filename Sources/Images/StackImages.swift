import Foundation

/// Where a built stack's files are: what `teeharness images path` prints and the machine boots.
public struct StackImages: Sendable, Equatable {
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
  /// OP-TEE's symbols (nil for a prebuilt OP-TEE given without them: the tests that need them skip).
  public var teeElf: URL?
  public var bl31Elf: URL?
  public var bl1Elf: URL?
  public var bl2Elf: URL?
  public var opteeConfig: URL?
  /// OP-TEE's thread-table layout from the build's debug info (nil without a tee.elf that has it).
  public var opteeLayout: URL?
  public var taDevKit: URL?
  public var kernelConfig: URL?
  public var kernelRelease: String
  /// The QEMU binary the machine runs.
  public var qemu: URL

  /// The paths as a JSON object for scripts (`teeharness images path`).
  public var jsonObject: [String: Any] {
    var object: [String: Any] = [
      "manifest": manifest, "digest": digest, "keys": keys, "kernelRelease": kernelRelease,
    ]
    let files: [String: URL?] = [
      "bl1": bl1, "bl2": bl2, "bl31": bl31, "bl32": bl32, "bl32_extra1": bl32Extra1, "bl32_extra2": bl32Extra2,
      "bl33": bl33, "kernel": kernel, "initramfs": initramfs, "tee_elf": teeElf, "bl31_elf": bl31Elf,
      "bl1_elf": bl1Elf, "bl2_elf": bl2Elf, "optee_conf": opteeConfig, "optee_layout": opteeLayout, "ta_dev_kit": taDevKit,
      "qemu": qemu, "kernel_config": kernelConfig,
    ]
    for (name, url) in files { if let url { object[name] = url.path } }
    return object
  }

  /// The files BL1 loads by semihosting from the machine's run folder, by the names it asks for.
  public var semihostingFiles: [(name: String, file: URL)] {
    [("bl2.bin", bl2), ("bl31.bin", bl31), ("bl32.bin", bl32), ("bl32_extra1.bin", bl32Extra1),
     ("bl32_extra2.bin", bl32Extra2), ("bl33.bin", bl33)]
  }
}
