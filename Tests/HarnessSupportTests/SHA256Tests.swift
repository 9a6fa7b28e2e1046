import Foundation
import HarnessSupport
import Testing

@Suite struct SHA256Tests {
  @Test func matchesTheStandardVectors() {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  @Test func agreesWithTheSystemDigestAcrossBlockBoundaries() async throws {
    let dir = ScratchFolder.path("sha-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for length in [55, 56, 63, 64, 65, 119, 120, 1000] {
      let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
      let file = dir.appendingPathComponent("f\(length)")
      try Data(bytes).write(to: file)
      #expect(SHA256.hex(bytes) == (try await FileDigest.sha256(of: file)), "length \(length)")
    }
  }
}
