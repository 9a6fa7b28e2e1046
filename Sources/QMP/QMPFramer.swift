import Foundation

/// One QMP message from QEMU.
package enum QMPMessage: @unchecked Sendable {
  case greeting([String: Any])
  case reply(id: Int?, result: Any?)
  case error(id: Int?, class: String, description: String)
  case event(name: String, data: [String: Any], timestamp: Double)

  /// Decodes one JSON object.
  /// - Throws: `QMPProtocolError` for text that is not a QMP message.
  package static func decode(_ object: [String: Any]) throws -> QMPMessage {
    if let greeting = object["QMP"] as? [String: Any] { return .greeting(greeting) }
    let id = object["id"] as? Int
    if let error = object["error"] as? [String: Any] {
      return .error(id: id, class: error["class"] as? String ?? "?", description: error["desc"] as? String ?? "")
    }
    if object.keys.contains("return") { return .reply(id: id, result: object["return"]) }
    if let name = object["event"] as? String {
      let ts = object["timestamp"] as? [String: Any]
      let seconds = (ts?["seconds"] as? Double ?? 0) + (ts?["microseconds"] as? Double ?? 0) / 1e6
      return .event(name: name, data: object["data"] as? [String: Any] ?? [:], timestamp: seconds)
    }
    throw QMPProtocolError(text: String(describing: object))
  }
}

package struct QMPProtocolError: Error, CustomStringConvertible {
  package var text: String
  package var description: String { "not a QMP message: \(text.prefix(200))" }
}

/// Splits QMP's byte stream into JSON messages, one per line. Pure: bytes in, messages out.
package struct QMPFramer {
  private var buffer: [UInt8] = []

  package init() {}

  /// Adds bytes; returns every message completed by them.
  /// - Throws: `QMPProtocolError` for a line that is not a JSON object.
  package mutating func feed(_ bytes: [UInt8]) throws -> [QMPMessage] {
    buffer += bytes
    var messages: [QMPMessage] = []
    while let newline = buffer.firstIndex(of: 0x0A) {
      let line = Array(buffer[..<newline])
      buffer.removeSubrange(...newline)
      let trimmed = line.filter { $0 != 0x0D }
      if trimmed.allSatisfy({ $0 == 0x20 }) { continue }
      guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed)) as? [String: Any] else {
        throw QMPProtocolError(text: String(decoding: trimmed, as: UTF8.self))
      }
      messages.append(try QMPMessage.decode(object))
    }
    return messages
  }

  /// The wire form of a command: one line of JSON.
  package static func encode(_ command: String, arguments: [String: Any]? = nil, id: Int) -> [UInt8] {
    var object: [String: Any] = ["execute": command, "id": id]
    if let arguments { object["arguments"] = arguments }
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return Array(data) + [0x0A]
  }
}
