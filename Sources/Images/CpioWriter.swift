import Foundation
import HarnessSupport

/// One entry of a cpio archive.
package struct CpioEntry: Sendable, Equatable {
  package enum Kind: Sendable, Equatable {
    case directory
    case file(Data)
    case symlink(target: String)
  }
  /// Path inside the archive, without a leading slash (`usr/bin/xtest`).
  package var path: String
  package var kind: Kind
  /// Permission bits (`0o755`); the file type bits are added from `kind`.
  package var permissions: UInt32

  package init(path: String, kind: Kind, permissions: UInt32) {
    self.path = path
    self.kind = kind
    self.permissions = permissions
  }
}

/// The "newc" cpio format the kernel unpacks as an initramfs, written reproducibly: entries in the order
/// given, inode numbers counted from 1, owner root, mtime 0 — the same entries always give the same bytes.
package struct CpioWriter {
  private var nextInode: UInt32 = 1
  private let sink: (Data) throws -> Void

  /// `sink` receives the archive in pieces, in order.
  package init(sink: @escaping (Data) throws -> Void) { self.sink = sink }

  /// The archive of `entries` as one block of bytes.
  package static func encode(_ entries: [CpioEntry]) throws -> Data {
    var out = Data()
    var writer = CpioWriter { out.append($0) }
    for entry in entries { try writer.append(entry) }
    try writer.finish()
    return out
  }

  package mutating func append(_ entry: CpioEntry) throws {
    let body: Data
    let type: UInt32
    let links: UInt32
    switch entry.kind {
    case .directory: (body, type, links) = (Data(), 0o040000, 2)
    case .file(let data): (body, type, links) = (data, 0o100000, 1)
    case .symlink(let target): (body, type, links) = (Data(target.utf8), 0o120000, 1)
    }
    try write(name: entry.path, mode: type | (entry.permissions & 0o7777), links: links, body: body)
  }

  /// Writes the `TRAILER!!!` entry that ends the archive.
  package mutating func finish() throws {
    nextInode = 0
    try write(name: "TRAILER!!!", mode: 0, links: 1, body: Data())
  }

  private mutating func write(name: String, mode: UInt32, links: UInt32, body: Data) throws {
    let nameBytes = Data(name.utf8) + [0]
    // newc's sizes are 8 hex digits: what does not fit is refused, never cut or trapped on.
    guard body.count <= Int(UInt32.max), nameBytes.count <= Int(UInt32.max) else {
      throw HarnessError("\(name) is \(body.count) bytes: an initramfs (newc cpio) holds files of at most 4 GiB",
        fix: "leave the file out of the initramfs")
    }
    let fields: [UInt32] = [
      nextInode, mode, 0, 0, links, 0, UInt32(body.count), 0, 0, 0, 0, UInt32(nameBytes.count), 0,
    ]
    if nextInode != 0 { nextInode += 1 }
    var header = Data("070701".utf8)
    for field in fields { header.append(contentsOf: Array(String(format: "%08X", field).utf8)) }
    header.append(nameBytes)
    header.append(contentsOf: [UInt8](repeating: 0, count: Self.padding(header.count)))
    try sink(header)
    if !body.isEmpty {
      try sink(body)
      let pad = Self.padding(body.count)
      if pad > 0 { try sink(Data(count: pad)) }
    }
  }

  static func padding(_ count: Int) -> Int { (4 - count % 4) % 4 }
}

extension CpioWriter {
  /// Archives the tree under `root` into `file`: every directory, file and symlink, sorted by path, with their
  /// permission bits. Hard links become separate copies.
  /// - Throws: when the tree holds something else (a device node, a socket) or cannot be read.
  package static func archive(tree root: URL, to file: URL) throws {
    let fm = FileManager.default
    _ = fm.createFile(atPath: file.path, contents: nil)
    let handle = try FileHandle(forWritingTo: file)
    defer { try? handle.close() }
    var writer = CpioWriter { try handle.write(contentsOf: $0) }
    for path in try treePaths(root) {
      let url = root.appendingPathComponent(path)
      let attributes = try fm.attributesOfItem(atPath: url.path)
      let permissions = (attributes[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
      let kind: CpioEntry.Kind
      switch attributes[.type] as? FileAttributeType {
      case .typeDirectory?: kind = .directory
      case .typeSymbolicLink?: kind = .symlink(target: try fm.destinationOfSymbolicLink(atPath: url.path))
      case .typeRegular?: kind = .file(try Data(contentsOf: url))
      default: throw CocoaError(.fileReadUnsupportedScheme, userInfo: [NSFilePathErrorKey: url.path])
      }
      try writer.append(CpioEntry(path: path, kind: kind, permissions: permissions))
    }
    try writer.finish()
  }

  /// Every path below `root` (relative, sorted bytewise so parents precede children), symlinks not followed.
  static func treePaths(_ root: URL) throws -> [String] {
    let fm = FileManager.default
    var paths: [String] = []
    var pending = [""]
    while let relative = pending.popLast() {
      let dir = relative.isEmpty ? root : root.appendingPathComponent(relative)
      for name in try fm.contentsOfDirectory(atPath: dir.path) {
        let path = relative.isEmpty ? name : "\(relative)/\(name)"
        paths.append(path)
        let type = try fm.attributesOfItem(atPath: root.appendingPathComponent(path).path)[.type] as? FileAttributeType
        if type == .typeDirectory { pending.append(path) }
      }
    }
    return paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }
}
