import Foundation

/// What arrives from a GDB remote-protocol stub.
package enum RSPEvent: Sendable, Equatable {
  /// `+`: the last packet arrived intact.
  case ack
  /// `-`: the last packet arrived damaged; send it again.
  case nack
  /// A packet's payload, unescaped and run-length decoded.
  case packet([UInt8])
  /// A packet whose checksum did not match (answer with `-` in acknowledgement mode).
  case corrupted
  /// An asynchronous notification (`%…#xx`), payload decoded.
  case notification([UInt8])
}

/// The GDB remote serial protocol's framing. Pure: bytes in, events out; payloads in, wire bytes out.
///
/// Wire form: `$<payload>#<two hex digits>`, the checksum being the sum of the payload bytes as sent, modulo
/// 256. In the payload `}` escapes the next byte (xor 0x20) and `*` repeats the previous byte (count − 29 more
/// times).
package struct RSPFramer: Sendable {
  private var buffer: [UInt8] = []

  package init() {}

  /// Adds bytes read from the stub; returns every event they complete.
  package mutating func feed(_ bytes: [UInt8]) -> [RSPEvent] {
    buffer += bytes
    var events: [RSPEvent] = []
    var index = 0
    scan: while index < buffer.count {
      switch buffer[index] {
      case UInt8(ascii: "+"):
        events.append(.ack)
        index += 1
      case UInt8(ascii: "-"):
        events.append(.nack)
        index += 1
      case UInt8(ascii: "$"), UInt8(ascii: "%"):
        guard let hash = buffer[(index + 1)...].firstIndex(of: UInt8(ascii: "#")), hash + 2 < buffer.count else {
          break scan  // wait for the rest of the packet
        }
        let raw = Array(buffer[(index + 1)..<hash])
        let sent = Self.hexValue(buffer[hash + 1], buffer[hash + 2])
        let sum = raw.reduce(UInt8(0)) { $0 &+ $1 }
        let notification = buffer[index] == UInt8(ascii: "%")
        if let sent, sent == sum {
          let payload = Self.decode(raw)
          events.append(notification ? .notification(payload) : .packet(payload))
        } else {
          events.append(.corrupted)
        }
        index = hash + 3
      default:
        index += 1  // noise between packets (a stray byte) is skipped
      }
    }
    buffer.removeFirst(index)
    return events
  }

  /// The wire bytes of a packet carrying `payload` (escaped, checksummed; never run-length encoded).
  package static func encode(_ payload: [UInt8]) -> [UInt8] {
    var body: [UInt8] = []
    for byte in payload {
      if byte == UInt8(ascii: "$") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "*") {
        body += [UInt8(ascii: "}"), byte ^ 0x20]
      } else {
        body.append(byte)
      }
    }
    let sum = body.reduce(UInt8(0)) { $0 &+ $1 }
    return [UInt8(ascii: "$")] + body + [UInt8(ascii: "#")] + Array(String(format: "%02x", sum).utf8)
  }

  package static func encode(_ payload: String) -> [UInt8] { encode(Array(payload.utf8)) }

  /// Undoes escapes and run-length encoding.
  static func decode(_ raw: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < raw.count {
      let byte = raw[i]
      if byte == UInt8(ascii: "}"), i + 1 < raw.count {
        out.append(raw[i + 1] ^ 0x20)
        i += 2
      } else if byte == UInt8(ascii: "*"), i + 1 < raw.count, let last = out.last {
        out += [UInt8](repeating: last, count: max(Int(raw[i + 1]) - 29, 0))
        i += 2
      } else {
        out.append(byte)
        i += 1
      }
    }
    return out
  }

  static func hexValue(_ high: UInt8, _ low: UInt8) -> UInt8? {
    func nibble(_ c: UInt8) -> UInt8? {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
      default: nil
      }
    }
    guard let h = nibble(high), let l = nibble(low) else { return nil }
    return h << 4 | l
  }
}
