import Foundation
import HarnessSupport
import Testing

@testable import Images

/// Reports say what each component is in versions a person can look up.
@Suite struct ComponentVersionsTests {
  @Test func packagesSayTheirLockedVersionsAndATreeItsCommit() async throws {
    var manifest = try ManifestLoader.load(ProjectLayout.find().manifest("default"))
    let tree = ScratchFolder.path("tree-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: tree) }
    for argv in [["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"]] {
      _ = try await Command.run(["git", "-C", tree.path] + argv, timeout: .seconds(20))
    }
    let head = try await Command.output(["git", "-C", tree.path, "rev-parse", "--short=12", "HEAD"])
    manifest.components[.tfa]?.tree = tree
    manifest.components[.tfa]?.source = nil
    let versions = await ComponentVersions.of(manifest, locked: ["optee-os": "4.10.0-1", "u-boot-qemu": "2023.01+dfsg-2"])
    #expect(versions["component.optee"] == "built from source optee-os 4.10.0-1 (sid)")
    #expect(versions["component.uboot"] == "u-boot-qemu 2023.01+dfsg-2 (bookworm)")
    #expect(versions["component.tfa"] == "tree \(tree.path) at \(head)")
    #expect(versions["component.kernel"]?.hasSuffix("(unlocked) (trixie)") == true, "\(versions)")
  }
}
