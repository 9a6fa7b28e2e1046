import Foundation
import HarnessSupport

/// The secure flash QEMU virt boots from (`-bios`): TF-A's BL1 at 0, and at 256 KiB a FIP of the other images
/// (BL2, BL31, OP-TEE's three, U-Boot), where TF-A's qemu platform looks for it (`PLAT_QEMU_FIP_BASE`,
/// docs/plat/qemu.rst). BL1 finds every image there, so QEMU needs no semihosting: the guest gets no door to the
/// host's files.
package enum FlashImage {
  /// Where the FIP starts in the flash.
  package static let fipOffset = 0x4_0000

  /// The flash's bytes.
  /// - Throws: `HarnessError` when BL1 does not fit before the FIP.
  package static func make(bl1: [UInt8], fip: [UInt8]) throws -> [UInt8] {
    guard bl1.count <= fipOffset else {
      throw HarnessError("BL1 is \(bl1.count) bytes: it does not fit before the FIP at \(fipOffset) bytes in QEMU's flash",
        fix: "build TF-A's BL1 for PLAT=qemu")
    }
    return bl1 + [UInt8](repeating: 0, count: fipOffset - bl1.count) + fip
  }

  /// The flash of a built stack.
  /// - Throws: `HarnessError` when an image cannot be read or BL1 is too large.
  package static func make(_ images: StackImages) throws -> [UInt8] {
    func read(_ url: URL) throws -> [UInt8] {
      guard let data = FileManager.default.contents(atPath: url.path) else {
        throw HarnessError("image \(url.path) is unreadable", fix: "run `swift run teeharness images build`")
      }
      return [UInt8](data)
    }
    var entries: [(FirmwareImagePackage.Image, [UInt8])] = [
      (.bl2, try read(images.bl2)), (.bl31, try read(images.bl31)), (.bl32, try read(images.bl32)),
      (.bl32Extra1, try read(images.bl32Extra1)), (.bl32Extra2, try read(images.bl32Extra2)), (.bl33, try read(images.bl33)),
    ]
    if let manifest = images.tosFwConfig { entries.append((.tosFwConfig, try read(manifest))) }
    let fip = FirmwareImagePackage.pack(entries)
    return try make(bl1: try read(images.bl1), fip: fip)
  }
}
