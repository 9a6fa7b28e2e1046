import Foundation

/// TF-A's firmware image package (FIP): a table of contents — header `0xAA640001`, then 40-byte entries
/// (UUID, offset, size, flags, all little-endian) ended by an all-zero UUID — followed by the images.
/// A pure codec: it reads bytes and never trusts an offset it has not checked against the file's size.
package struct FirmwareImagePackage: Sendable, Equatable {
  package struct Entry: Sendable, Equatable {
    package var uuid: [UInt8]
    package var offset: Int
    package var size: Int
    /// The image's name in `fiptool` terms, when the UUID is one the harness knows.
    package var image: Image? { Image.allCases.first { $0.uuid == uuid } }
  }

  /// The images of a boot flow that the harness takes out of a FIP (UUIDs from TF-A's
  /// `include/tools_share/firmware_image_package.h`).
  package enum Image: String, Sendable, CaseIterable {
    case bl2 = "tb-fw", bl31 = "soc-fw", bl32 = "tos-fw", bl32Extra1 = "tos-fw-extra1", bl32Extra2 = "tos-fw-extra2",
      bl33 = "nt-fw", tosFwConfig = "tos-fw-config"

    package var uuid: [UInt8] {
      switch self {
      case .bl2: [0x5f, 0xf9, 0xec, 0x0b, 0x4d, 0x22, 0x3e, 0x4d, 0xa5, 0x44, 0xc3, 0x9d, 0x81, 0xc7, 0x3f, 0x0a]
      case .bl31: [0x47, 0xd4, 0x08, 0x6d, 0x4c, 0xfe, 0x98, 0x46, 0x9b, 0x95, 0x29, 0x50, 0xcb, 0xbd, 0x5a, 0x00]
      case .bl32: [0x05, 0xd0, 0xe1, 0x89, 0x53, 0xdc, 0x13, 0x47, 0x8d, 0x2b, 0x50, 0x0a, 0x4b, 0x7a, 0x3e, 0x38]
      case .bl32Extra1: [0x0b, 0x70, 0xc2, 0x9b, 0x2a, 0x5a, 0x78, 0x40, 0x9f, 0x65, 0x0a, 0x56, 0x82, 0x73, 0x82, 0x88]
      case .bl32Extra2: [0x8e, 0xa8, 0x7b, 0xb1, 0xcf, 0xa2, 0x3f, 0x4d, 0x85, 0xfd, 0xe7, 0xbb, 0xa5, 0x02, 0x20, 0xd9]
      case .bl33: [0xd6, 0xd0, 0xee, 0xa7, 0xfc, 0xea, 0xd5, 0x4b, 0x97, 0x82, 0x99, 0x34, 0xf2, 0x34, 0xb6, 0xe4]
      case .tosFwConfig: [0x26, 0x25, 0x7c, 0x1a, 0xdb, 0xc6, 0x7f, 0x47, 0x8d, 0x96, 0xc4, 0xc4, 0xb0, 0x24, 0x80, 0x21]
      }
    }
  }

  package struct Malformed: Error, CustomStringConvertible, Equatable {
    package var description: String
  }

  package static let magic: UInt32 = 0xAA64_0001
  static let headerSize = 16
  static let entrySize = 40

  package var entries: [Entry]

  /// Parses the table of contents from `header` (the file's first bytes, at least up to the end marker) of a
  /// file of `size` bytes.
  /// - Throws: `Malformed` for a wrong magic, a table that runs past the bytes given, or an image that lies
  ///   outside the file (a truncated FIP).
  package init(header bytes: [UInt8], size: Int) throws {
    guard bytes.count >= Self.headerSize, Self.le(bytes, 0, 4) == UInt64(Self.magic) else {
      throw Malformed(description: "it is not a firmware image package (no FIP header 0xAA640001)")
    }
    var entries: [Entry] = []
    var at = Self.headerSize
    while true {
      guard at + Self.entrySize <= bytes.count else {
        throw Malformed(description: "its table of contents has no end (truncated FIP)")
      }
      let uuid = Array(bytes[at..<at + 16])
      if uuid.allSatisfy({ $0 == 0 }) { break }
      let offset = Self.le(bytes, at + 16, 8), length = Self.le(bytes, at + 24, 8)
      guard offset <= UInt64(size), length <= UInt64(size) - offset else {
        throw Malformed(description: "an image at offset \(offset) of \(length) bytes lies past the file's \(size) bytes (truncated FIP)")
      }
      entries.append(Entry(uuid: uuid, offset: Int(offset), size: Int(length)))
      at += Self.entrySize
    }
    self.entries = entries
  }

  /// The bytes of `image` in `file` (the whole FIP), or nil when the package does not hold it.
  package func extract(_ image: Image, from file: [UInt8]) -> [UInt8]? {
    guard let entry = entries.first(where: { $0.uuid == image.uuid }), entry.offset + entry.size <= file.count else {
      return nil
    }
    return Array(file[entry.offset..<entry.offset + entry.size])
  }

  /// A package of `images`, in that order, as `fiptool create` lays it out: the header (magic, a non-zero serial
  /// number TF-A requires, no flags), one entry per image and the all-zero end entry, then the images, each
  /// starting at a 16-byte boundary.
  package static func pack(_ images: [(Image, [UInt8])]) -> [UInt8] {
    func align(_ n: Int) -> Int { (n + 15) & ~15 }
    var out = le(UInt64(magic), 4) + le(0x1234_5678, 4) + le(0, 8)
    var offset = align(headerSize + entrySize * (images.count + 1))
    var body: [UInt8] = []
    for (image, bytes) in images {
      out += image.uuid + le(UInt64(offset), 8) + le(UInt64(bytes.count), 8) + le(0, 8)
      body += [UInt8](repeating: 0, count: offset - (align(headerSize + entrySize * (images.count + 1)) + body.count)) + bytes
      offset = align(offset + bytes.count)
    }
    out += [UInt8](repeating: 0, count: 16) + le(UInt64(offset), 8) + le(0, 8) + le(0, 8)
    out += [UInt8](repeating: 0, count: align(out.count) - out.count)
    return out + body
  }

  static func le(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }

  static func le(_ bytes: [UInt8], _ at: Int, _ count: Int) -> UInt64 {
    (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
  }
}
