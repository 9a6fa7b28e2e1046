import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct FirmwareImagePackageTests {
  /// A FIP as `fiptool create --tb-fw --soc-fw` lays it out: header, two entries, the end marker, the images.
  static func package(_ images: [(FirmwareImagePackage.Image, [UInt8])]) -> [UInt8] {
    func le(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
    var offset = 16 + 40 * (images.count + 1)
    var bytes = le(UInt64(FirmwareImagePackage.magic), 4) + le(0x12345678, 4) + le(0, 8)
    for (image, content) in images {
      bytes += image.uuid + le(UInt64(offset), 8) + le(UInt64(content.count), 8) + le(0, 8)
      offset += content.count
    }
    bytes += [UInt8](repeating: 0, count: 40)
    for (_, content) in images { bytes += content }
    return bytes
  }

  @Test func theImagesComeOutByTheirUUIDs() throws {
    let bytes = Self.package([(.bl2, [1, 2, 3]), (.bl31, [4, 5, 6, 7])])
    let fip = try FirmwareImagePackage(header: bytes, size: bytes.count)
    #expect(fip.entries.map(\.image) == [.bl2, .bl31])
    #expect(fip.extract(.bl2, from: bytes) == [1, 2, 3])
    #expect(fip.extract(.bl31, from: bytes) == [4, 5, 6, 7])
    #expect(fip.extract(.bl33, from: bytes) == nil)
  }

  @Test func aTruncatedOrForeignFileIsRefusedWithTheReason() {
    let bytes = Self.package([(.bl2, [1, 2, 3]), (.bl31, [4, 5, 6, 7])])
    #expect(throws: FirmwareImagePackage.Malformed(description: "an image at offset 139 of 4 bytes lies past the file's 141 bytes (truncated FIP)")) {
      try FirmwareImagePackage(header: Array(bytes.dropLast(2)), size: bytes.count - 2)
    }
    #expect(throws: FirmwareImagePackage.Malformed(description: "its table of contents has no end (truncated FIP)")) {
      try FirmwareImagePackage(header: Array(bytes.prefix(60)), size: bytes.count)
    }
    #expect(throws: FirmwareImagePackage.Malformed.self) { try FirmwareImagePackage(header: [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: 60), size: 64) }
    // Offsets near the top of UInt64 must not overflow.
    var huge = bytes
    for i in 32..<40 { huge[i] = 0xff }
    #expect(throws: FirmwareImagePackage.Malformed.self) { try FirmwareImagePackage(header: huge, size: huge.count) }
  }

  @Test func prebuiltKindsAreTellApartFromTheirFirstBytes() {
    let elf: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]
    #expect(PrebuiltKind.firmware.problem(elf, size: 8)?.contains("ELF") == true)
    #expect(PrebuiltKind.firmware.problem([1, 2], size: 2) == nil)
    #expect(PrebuiltKind.firmware.problem([], size: 0) == "it is empty")
    #expect(PrebuiltKind.pageable.problem([], size: 0) == nil, "OP-TEE without the pager has an empty pageable part")
    #expect(PrebuiltKind.elf.problem([1, 2], size: 2) == "it is not an ELF file")
    var image = [UInt8](repeating: 0, count: 64)
    image.replaceSubrange(0x38..<0x3c, with: [0x41, 0x52, 0x4d, 0x64])
    #expect(PrebuiltKind.kernelImage.problem(image, size: 64) == nil)
    #expect(PrebuiltKind.kernelImage.problem([0x1f, 0x8b] + image, size: 66)?.contains("gzip") == true)
    #expect(PrebuiltKind.opteeHeader.problem(Array("OPTE".utf8) + [2, 0, 0, 0], size: 8) == nil)
    #expect(PrebuiltKind.opteeHeader.problem(Array("OPTE".utf8) + [1, 0, 0, 0], size: 8)?.contains("version 1") == true)
    #expect(PrebuiltKind.fip.problem(Self.package([(.bl2, [1])]), size: 97) == nil)
  }

  @Test func aPackedFIPReadsBackImageByImageAndTheFlashPutsItAt256KiB() throws {
    let images: [(FirmwareImagePackage.Image, [UInt8])] = [(.bl2, [1, 2, 3]), (.bl31, Array(repeating: 7, count: 33)), (.bl33, [9])]
    let fip = FirmwareImagePackage.pack(images)
    let parsed = try FirmwareImagePackage(header: fip, size: fip.count)
    #expect(parsed.entries.map(\.image) == [.bl2, .bl31, .bl33])
    #expect(parsed.entries.allSatisfy { $0.offset % 16 == 0 })
    for (image, bytes) in images { #expect(parsed.extract(image, from: fip) == bytes) }
    #expect(FirmwareImagePackage.le(fip, 4, 4) != 0, "TF-A refuses a FIP whose serial number is 0")

    let flash = try FlashImage.make(bl1: [0xaa, 0xbb], fip: fip)
    #expect(flash.prefix(2) == [0xaa, 0xbb] && Array(flash[FlashImage.fipOffset...]) == fip)
    #expect(throws: HarnessError.self) { try FlashImage.make(bl1: [UInt8](repeating: 1, count: FlashImage.fipOffset + 1), fip: fip) }
  }
}
