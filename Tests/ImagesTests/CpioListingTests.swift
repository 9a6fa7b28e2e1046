import Foundation
import Testing

@testable import Images

@Suite struct CpioListingTests {
  static let merged: [CpioEntry] = [
    .init(path: "usr", kind: .directory, permissions: 0o755),
    .init(path: "usr/lib", kind: .directory, permissions: 0o755),
    .init(path: "usr/lib/optee_armtz", kind: .directory, permissions: 0o755),
    .init(path: "lib", kind: .symlink(target: "usr/lib"), permissions: 0o777),
    .init(path: "bin", kind: .symlink(target: "/usr/bin"), permissions: 0o777),
    .init(path: "init", kind: .file(Data("#!/bin/sh\n".utf8)), permissions: 0o755),
    .init(path: "a", kind: .symlink(target: "b"), permissions: 0o777),
    .init(path: "b", kind: .symlink(target: "a"), permissions: 0o777),
  ]

  @Test func linksAmongTheParentsAreFollowedAsTheKernelWould() throws {
    let listing = try CpioListing([UInt8](try CpioWriter.encode(Self.merged)))
    #expect(listing.entries["lib"] == .symlink("usr/lib") && listing.entries["init"] == .file)
    #expect(listing.resolve("lib/modules/tee.ko") == "usr/lib/modules/tee.ko")
    #expect(listing.resolve("bin/sh") == "usr/bin/sh")
    #expect(listing.resolve("lib") == "lib", "the last component is the entry itself")
    #expect(listing.resolve("init") == "init")
    #expect(listing.resolve("a/x") == nil, "a loop of links")
    #expect(listing.folder(named: "optee_armtz") == "usr/lib/optee_armtz")
  }

  @Test func concatenatedArchivesArePaddedAndAShortOneIsRefused() throws {
    var bytes = [UInt8](try CpioWriter.encode(Self.merged))
    bytes += [0, 0, 0, 0] + [UInt8](try CpioWriter.encode([.init(path: "lib", kind: .directory, permissions: 0o755)]))
    #expect(try CpioListing(bytes).entries["lib"] == .directory, "a later archive replaces an entry")
    #expect(throws: CpioListing.Malformed.self) { try CpioListing(Array(bytes.prefix(150))) }
    #expect(throws: CpioListing.Malformed.self) { try CpioListing([0x1f, 0x8b, 8, 0]) }
  }

  /// A size written with a sign would walk the reader backwards (found by ci/fuzz's cpio target).
  @Test func aSignedSizeIsRefused() throws {
    var bytes = [UInt8](try CpioWriter.encode([.init(path: "init", kind: .file(Data("x".utf8)), permissions: 0o755)]))
    bytes.replaceSubrange(54..<62, with: Array("-0000100".utf8))
    #expect(throws: CpioListing.Malformed.self) { try CpioListing(bytes) }
  }
}
