import Foundation
import Testing

@testable import QMP

@Suite struct QMPFramerTests {
  static let wire = Array(
    (#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}"# + "\r\n"
      + #"{"return": {}, "id": 1}"# + "\r\n"
      + #"{"timestamp": {"seconds": 1700000000, "microseconds": 250000}, "event": "STOP"}"# + "\r\n"
      + #"{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}"# + "\r\n"
      + #"{"return": {"status": "running", "running": true}, "id": 3}"# + "\r\n").utf8)

  static func describe(_ m: QMPMessage) -> String {
    switch m {
    case .greeting: "greeting"
    case .reply(let id, let result): "reply \(id ?? -1) \((result as? [String: Any])?["status"] as? String ?? "")"
    case .error(let id, let c, _): "error \(id ?? -1) \(c)"
    case .event(let name, _, let ts): "event \(name) \(ts)"
    }
  }

  @Test func decodesTheSameMessagesWhateverTheChunkSize() throws {
    var reference: [String] = []
    for size in 1...Self.wire.count {
      var framer = QMPFramer()
      var seen: [String] = []
      var offset = 0
      while offset < Self.wire.count {
        seen += try framer.feed(Array(Self.wire[offset..<min(offset + size, Self.wire.count)])).map(Self.describe)
        offset += size
      }
      if reference.isEmpty { reference = seen }
      #expect(seen == reference, "chunk size \(size)")
    }
    #expect(reference == ["greeting", "reply 1 ", "event STOP 1700000000.25", "error 2 CommandNotFound", "reply 3 running"])
  }

  @Test func aLineThatIsNotJSONIsAProtocolError() {
    var framer = QMPFramer()
    #expect(throws: QMPProtocolError.self) { try framer.feed(Array("garbage\n".utf8)) }
  }

  @Test func commandsAreOneLineWithTheirID() throws {
    let bytes = QMPFramer.encode("migrate", arguments: ["uri": "exec:cat > x"], id: 7)
    #expect(bytes.last == 0x0A)
    let object = try JSONSerialization.jsonObject(with: Data(bytes.dropLast())) as? [String: Any]
    #expect(object?["execute"] as? String == "migrate")
    #expect(object?["id"] as? Int == 7)
    #expect((object?["arguments"] as? [String: Any])?["uri"] as? String == "exec:cat > x")
  }
}
