import Foundation

/// Where a built stack's files are: what `teeharness images path` prints and the machine boots.
package struct StackImages: Sendable, Equatable {
  package var manifest: String
  /// The stack's digest: the sha256 of every component key.
  package var digest: String
  /// Component → its key in the store.
  package var keys: [String: String]
  package var bl1: URL
  package var bl2: URL
  package var bl31: URL
  package var bl32: URL
  package var bl32Extra1: URL
  package var bl32Extra2: URL
  package var bl33: URL
  /// The SPM Core manifest BL2 loads for an SPMD (FF-A) TF-A; nil for the classic SMC stack.
  package var tosFwConfig: URL?
  package var kernel: URL
  package var initramfs: URL
  /// OP-TEE's symbols (nil for a prebuilt OP-TEE given without them: the tests that need them skip).
  package var teeElf: URL?
  package var bl31Elf: URL?
  package var bl1Elf: URL?
  package var bl2Elf: URL?
  package var opteeConfig: URL?
  /// OP-TEE's thread-table layout from the build's debug info (nil without a tee.elf that has it).
  package var opteeLayout: URL?
  package var taDevKit: URL?
  package var kernelConfig: URL?
  package var kernelRelease: String
  /// The QEMU binary the machine runs.
  package var qemu: URL
  /// The Debian packages the stack was built from, by name, with their locked versions (none for a local tree
  /// or prebuilt files).
  package var packageVersions: [String: String] = [:]

  /// The paths as a JSON object for scripts (`teeharness images path`).
  package var jsonObject: [String: Any] {
    var object: [String: Any] = [
      "manifest": manifest, "digest": digest, "keys": keys, "kernelRelease": kernelRelease,
    ]
    let files: [String: URL?] = [
      "bl1": bl1, "bl2": bl2, "bl31": bl31, "bl32": bl32, "bl32_extra1": bl32Extra1, "bl32_extra2": bl32Extra2,
      "bl33": bl33, "tos_fw_config": tosFwConfig, "kernel": kernel, "initramfs": initramfs, "tee_elf": teeElf, "bl31_elf": bl31Elf,
      "bl1_elf": bl1Elf, "bl2_elf": bl2Elf, "optee_conf": opteeConfig, "optee_layout": opteeLayout, "ta_dev_kit": taDevKit,
      "qemu": qemu, "kernel_config": kernelConfig,
    ]
    for (name, url) in files { if let url { object[name] = url.path } }
    return object
  }
}
