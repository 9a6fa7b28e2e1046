import Foundation
import HarnessSupport

/// A file a component can be given prebuilt (`prebuilt:` in a manifest, `--bin-dir`): the name the
/// component's output gives it, the other names it goes by (OP-TEE/build's `out/bin`), and what it must be.
package struct PrebuiltRole: Sendable, Equatable {
  package var name: String
  package var aliases: [String]
  package var kind: PrebuiltKind

  init(_ name: String, _ kind: PrebuiltKind, aliases: [String] = []) {
    self.name = name
    self.kind = kind
    self.aliases = aliases
  }
}

/// What a prebuilt file must look like; checked from its first bytes before anything boots.
package enum PrebuiltKind: Sendable, Equatable {
  /// A raw firmware binary (not an ELF file).
  case firmware
  /// OP-TEE's pageable part: a raw binary, empty when OP-TEE is built without the pager.
  case pageable
  /// An ELF file with symbols (`tee.elf`, `bl31.elf`).
  case elf
  /// A TF-A firmware image package.
  case fip
  /// OP-TEE's v2 header (`tee-header_v2.bin`): magic `OPTE`, version 2.
  case opteeHeader
  /// An arm64 Linux `Image` (magic `ARM\x64` at offset 0x38).
  case kernelImage
  /// A text file (`conf.mk`, a kernel `config`).
  case text
  /// An initramfs: a gzip-compressed or plain "newc" cpio archive.
  case cpioArchive

  /// Nil when `bytes` (the file's first bytes; `size` its length) fit the kind; else what is wrong.
  package func problem(_ bytes: [UInt8], size: Int) -> String? {
    let isELF = bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46])
    guard size > 0 || self == .pageable else { return "it is empty" }
    switch self {
    case .firmware, .pageable:
      return isELF ? "it is an ELF file, not a raw binary (give the .bin that objcopy makes, or name the ELF as *.elf)" : nil
    case .elf:
      return isELF ? nil : "it is not an ELF file"
    case .fip:
      do {
        _ = try FirmwareImagePackage(header: bytes, size: size)
        return nil
      } catch {
        return "\(error)"
      }
    case .opteeHeader:
      guard bytes.count >= 8, bytes.starts(with: Array("OPTE".utf8)) else {
        return isELF ? "it is an ELF file, not OP-TEE's v2 header (tee-header_v2.bin)" : "it does not start with OP-TEE's header magic `OPTE`"
      }
      return bytes[4] == 2 ? nil : "its OP-TEE header is version \(bytes[4]), not 2 (build OP-TEE with CFG_WITH_PAGER or the v2 split images)"
    case .kernelImage:
      guard bytes.count >= 0x3c, bytes[0x38..<0x3c].elementsEqual([0x41, 0x52, 0x4d, 0x64]) else {
        if bytes.starts(with: [0x1f, 0x8b]) { return "it is gzip-compressed: give the plain arm64 Image (gunzip it)" }
        return isELF ? "it is an ELF file (vmlinux), not an arm64 Image" : "it has no arm64 Image magic `ARM\\x64` at offset 0x38"
      }
      return nil
    case .text:
      return bytes.contains(0) ? "it is not a text file" : nil
    case .cpioArchive:
      if bytes.starts(with: [0x1f, 0x8b]) || bytes.starts(with: Array("07070".utf8)) { return nil }
      return "it is neither a gzip-compressed nor a plain newc cpio archive"
    }
  }
}

extension ComponentName {
  /// The files this component takes prebuilt (empty: it cannot be given prebuilt).
  package var prebuiltRoles: [PrebuiltRole] {
    switch self {
    case .tfa:
      [.init("bl1.bin", .firmware), .init("fip.bin", .fip), .init("bl2.bin", .firmware), .init("bl31.bin", .firmware),
       .init("bl1.elf", .elf), .init("bl2.elf", .elf), .init("bl31.elf", .elf)]
    case .optee:
      [.init("tee-header_v2.bin", .opteeHeader, aliases: ["bl32.bin"]),
       .init("tee-pager_v2.bin", .firmware, aliases: ["bl32_extra1.bin"]),
       .init("tee-pageable_v2.bin", .pageable, aliases: ["bl32_extra2.bin"]),
       .init("tee.elf", .elf), .init("conf.mk", .text)]
    case .uboot: [.init("u-boot.bin", .firmware, aliases: ["bl33.bin"])]
    case .kernel: [.init("Image", .kernelImage), .init("config", .text)]
    case .initramfs: [.init("rootfs.cpio.gz", .cpioArchive, aliases: ["rootfs.cpio"])]
    default: []
    }
  }

  /// The role named `name` (or one of its aliases).
  package func prebuiltRole(named name: String) -> PrebuiltRole? {
    prebuiltRoles.first { $0.name == name || $0.aliases.contains(name) }
  }

  /// Nil when files in these roles make a bootable component; else what is missing.
  package func missingPrebuilt(_ roles: Set<String>) -> String? {
    switch self {
    case .tfa:
      guard roles.contains("bl1.bin") else { return "bl1.bin" }
      return roles.contains("fip.bin") || (roles.contains("bl2.bin") && roles.contains("bl31.bin")) ? nil
        : "fip.bin, or bl2.bin and bl31.bin"
    default:
      let required = prebuiltRoles.filter { $0.kind != .elf && $0.kind != .text }.map(\.name)
      let missing = required.filter { !roles.contains($0) }
      return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }
  }
}

enum PrebuiltFiles {
  /// Checks every prebuilt file of `spec` against its role, from its first 4 KiB.
  /// - Throws: `HarnessError` naming the file, its role and what is wrong with it.
  static func check(_ spec: ComponentSpec) throws {
    for (role, url) in spec.prebuilt.sorted(by: { $0.key < $1.key }) {
      guard let kind = spec.name.prebuiltRole(named: role)?.kind else { continue }
      guard let handle = FileHandle(forReadingAtPath: url.path) else {
        throw HarnessError("prebuilt \(role) of \(spec.name.rawValue) cannot be read: \(url.path)", fix: "fix the path")
      }
      defer { try? handle.close() }
      let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
      let head = [UInt8]((try? handle.read(upToCount: kind == .fip ? 64 * 1024 : 4096)) ?? Data())
      if let problem = kind.problem(head, size: size) {
        throw HarnessError("prebuilt \(role) of \(spec.name.rawValue) (\(url.path)) is not usable: \(problem)",
          fix: "give the file \(spec.name.title)'s build makes under that name")
      }
    }
  }
}
