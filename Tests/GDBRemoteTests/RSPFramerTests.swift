import Testing

@testable import GDBRemote

@Suite struct RSPFramerTests {

  @Test func packetsAcksAndChecksumErrorsComeOutTheSameWhateverTheChunkSize() {
    // Build a stream with correct checksums, one corrupted packet and a run-length encoded one.
    let okPacket = RSPFramer.encode("OK")
    let stop = RSPFramer.encode("T05thread:02;hwbreak:;")
    var corrupt = RSPFramer.encode("m0,4")
    corrupt[corrupt.count - 1] = UInt8(ascii: corrupt.last == UInt8(ascii: "0") ? "1" : "0")
    let rleBody: [UInt8] = Array("0*\"".utf8)  // "0" then 0x22 - 29 = 5 more: six zeros
    let rle = [UInt8(ascii: "$")] + rleBody + [UInt8(ascii: "#")]
      + Array(String(format: "%02x", rleBody.reduce(UInt8(0)) { $0 &+ $1 }).utf8)
    let stream = [UInt8(ascii: "+")] + okPacket + stop + [UInt8(ascii: "-")] + corrupt + rle
    let expected: [RSPEvent] = [
      .ack, .packet(Array("OK".utf8)), .packet(Array("T05thread:02;hwbreak:;".utf8)), .nack, .corrupted,
      .packet(Array("000000".utf8)),
    ]
    for size in 1...stream.count {
      var framer = RSPFramer()
      var events: [RSPEvent] = []
      var offset = 0
      while offset < stream.count {
        events += framer.feed(Array(stream[offset..<min(offset + size, stream.count)]))
        offset += size
      }
      #expect(events == expected, "chunk size \(size)")
    }
  }

  @Test func encodingEscapesTheFourSpecialBytesAndChecksumsTheWireForm() {
    let payload: [UInt8] = [UInt8(ascii: "X"), 0x24, 0x23, 0x7d, 0x2a, 0x00]
    let wire = RSPFramer.encode(payload)
    #expect(Array(wire.prefix(1)) == Array("$".utf8))
    var framer = RSPFramer()
    #expect(framer.feed(wire) == [.packet(payload)], "decodes back to the same bytes")
    #expect(!wire.dropFirst().dropLast(3).contains(0x24) && !wire.dropFirst().dropLast(3).contains(0x23))
    #expect(RSPFramer.encode("OK") == Array("$OK#9a".utf8))
  }

  @Test func stopRepliesNameTheThreadAndTheReason() {
    let hit = StopReply(Array("T05thread:p01.02;hwbreak:;20:00f0ff0e00000000;".utf8))
    #expect(hit?.kind == .signal && hit?.code == 5)
    #expect(hit?.thread == "p01.02")
    #expect(hit?.reason == "hwbreak")
    #expect(hit?.fields["20"] == "00f0ff0e00000000")
    #expect(StopReply(Array("S02".utf8))?.code == 2)
    #expect(StopReply(Array("W00".utf8))?.kind == .exited)
    #expect(StopReply(Array("OK".utf8)) == nil)
    // Fields with no name (found by ci/fuzz's rsp target) are ignored, not a trap.
    #expect(StopReply(Array("T05:;thread:2;:x;".utf8))?.thread == "2")
  }
}
