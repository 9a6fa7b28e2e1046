import Foundation
import HarnessSupport
import Testing

@testable import Images

@Suite struct LockAndArchiveTests {
  @Test func printURIsLinesBecomePoolPathsAndDigests() {
    let text = """
      Need to get 4914 kB of source archives.
      'http://mirror.invalid/debian/pool/main/a/arm-trusted-firmware/arm-trusted-firmware_2.12.1%2bdfsg-1.dsc' arm-trusted-firmware_2.12.1+dfsg-1.dsc 1672 SHA256:1b10
      'http://mirror.invalid/debian/pool/main/o/optee-os/optee-os_4.10.0.orig.tar.gz' optee-os_4.10.0.orig.tar.gz 4896220 SHA256:1863
      """
    let parsed = DebianArchive.parsePrintURIs(text)
    #expect(parsed.count == 2)
    #expect(parsed[0].path == "pool/main/a/arm-trusted-firmware/arm-trusted-firmware_2.12.1+dfsg-1.dsc")
    #expect(parsed[0].size == 1672 && parsed[0].sha256 == "1b10")
    #expect(DownloadCache.encodePath(parsed[0].path).hasSuffix("arm-trusted-firmware_2.12.1%2bdfsg-1.dsc"))
  }

  @Test func theHostMirrorIsReadFromDeb822AndOneLineSources() {
    let deb822 = """
      Types: deb
      URIs: http://mirror.invalid/debian-security
      Suites: bookworm-security
      Components: main

      Types: deb
      URIs: http://mirror.invalid/debian
      Suites: bookworm bookworm-updates
      Components: main
      """
    #expect(DebianArchive.mirror(inSources: deb822) == "http://mirror.invalid/debian")
    #expect(DebianArchive.mirror(inSources: "# x\ndeb [arch=amd64] http://m.invalid/debian bookworm main\n") == "http://m.invalid/debian")
    #expect(DebianArchive.mirror(inSources: "deb http://m.invalid/debian-security bookworm-security main\n") == nil)
  }

  @Test func aLockRoundTripsAndNamesWhatItLacks() throws {
    var lock = LockFile()
    let key = LockKey(kind: .source, package: PackageRef("optee-os", suite: "sid"), follow: [])
    lock.entries[key.description] = [LockedFile(package: "optee-os", version: "4.10.0-2", name: "optee-os_4.10.0-2.dsc",
      path: "pool/main/o/optee-os/optee-os_4.10.0-2.dsc", size: 2080, sha256: String(repeating: "a", count: 64))]
    let url = ScratchFolder.path("lock-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    try lock.write(to: url)
    #expect(try LockFile.load(url) == lock)
    let other = LockKey(kind: .binary, package: PackageRef("libc6", suite: "sid"), follow: [])
    #expect(lock.missing([key, other]) == [other])
    let error = #expect(throws: HarnessError.self) { try lock.files(for: other) }
    #expect(error?.fix?.contains("images lock") == true)
  }

  @Test func theShippedLockCoversEveryShippedManifest() throws {
    let layout = try ProjectLayout.find()
    let lock = try LockFile.load(layout.lockFile)
    for file in try layout.allManifests() {
      let manifest = try ManifestLoader.load(file)
      #expect(lock.missing(manifest.orderedComponents.flatMap(\.lockKeys)).isEmpty, "\(manifest.name)")
    }
  }

  @Test func aCorruptLockFileIsReportedAsSuch() throws {
    let url = ScratchFolder.path("lock-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    try Data("{ not json".utf8).write(to: url)
    let error = #expect(throws: HarnessError.self) { try LockFile.load(url) }
    #expect(error?.message.contains("not a valid lock") == true)
  }

  /// Lock entries name folders in the cache (by digest) and files in the mirror: one that would reach outside
  /// is refused with one line, before anything is downloaded or removed.
  @Test(arguments: [
    (#""name":"x.dsc","path":"pool/x.dsc","size":1,"sha256":"../../../etc""#, "a sha256 that is not 64 lowercase hex digits"),
    (#""name":"../x","path":"pool/x.dsc","size":1,"sha256":"\#(String(repeating: "a", count: 64))""#, "a file name that is not a plain name"),
    (#""name":"x.dsc","path":"../../etc/passwd","size":1,"sha256":"\#(String(repeating: "a", count: 64))""#, "a mirror path that is not a plain relative path"),
    (#""name":"x.dsc","path":"/etc/passwd","size":1,"sha256":"\#(String(repeating: "a", count: 64))""#, "a mirror path that is not a plain relative path"),
  ])
  func aHostileLockEntryIsRefused(entry: String, why: String) throws {
    let url = ScratchFolder.path("lock-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    try Data(#"{"format":1,"entries":{"source x/sid":[{"package":"x","version":"1",\#(entry)}]}}"#.utf8).write(to: url)
    let error = #expect(throws: HarnessError.self) { try LockFile.load(url) }
    #expect(error?.message.contains("entry 'source x/sid' has \(why)") == true, "\(error?.message ?? "")")
  }

  @Test func archiveErrorsBecomeOneActionableLine() {
    let file = LockedFile(package: "optee-os", version: "4.10.0-2", name: "x.dsc", path: "pool/x.dsc", size: 1, sha256: "ab")
    #expect(DownloadCache.explain("Err:1 http://m/x 404  Not Found", file: file, url: "u").message.contains("no longer serves"))
    #expect(DownloadCache.explain("Hash Sum mismatch", file: file, url: "u").message.contains("does not match"))
    #expect(DownloadCache.explain("Could not resolve 'm'", file: file, url: "u").message.contains("unreachable"))
  }
}
