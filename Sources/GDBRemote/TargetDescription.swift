import Foundation
import HarnessSupport

extension RSPClient {
  /// Reads the target description (`target.xml` and what it includes) and numbers the registers as GDB
  /// does: in document order, from 0, a `regnum` attribute setting the number.
  func readRegisterMap(deadline: Deadline) async throws -> [String: Int] {
    var numbers: [String: Int] = [:]
    var next = 0
    var pending = ["target.xml"]
    var seen: Set<String> = []
    while !pending.isEmpty {
      let document = pending.removeFirst()
      guard seen.insert(document).inserted else { continue }
      let xml = try await readFeatureDocument(document, deadline: deadline)
      let parsed = TargetDescription.parse(xml)
      for element in parsed {
        switch element {
        case .include(let href): pending.append(href)
        case .register(let name, let regnum):
          if let regnum { next = regnum }
          numbers[name] = next
          next += 1
        }
      }
    }
    return numbers
  }

  private func readFeatureDocument(_ name: String, deadline: Deadline) async throws -> String {
    var text: [UInt8] = []
    while true {
      let reply = try await request("qXfer:features:read:\(name):\(String(text.count, radix: 16)),ffb", deadline: deadline)
      guard let kind = reply.first else { break }
      text += reply.dropFirst()
      if kind == UInt8(ascii: "l") { break }
    }
    return String(decoding: text, as: UTF8.self)
  }
}

/// The parts of a GDB target description that matter here, in document order. Pure.
enum TargetDescription {
  enum Element: Equatable {
    case include(String)
    case register(name: String, regnum: Int?)
  }

  static func parse(_ xml: String) -> [Element] {
    var elements: [Element] = []
    var rest = Substring(xml)
    while let open = rest.firstIndex(of: "<") {
      guard let close = rest[open...].firstIndex(of: ">") else { break }
      let tag = rest[rest.index(after: open)..<close]
      if tag.hasPrefix("xi:include"), let href = attribute("href", in: tag) {
        elements.append(.include(href))
      } else if tag.hasPrefix("reg "), let name = attribute("name", in: tag) {
        elements.append(.register(name: name, regnum: attribute("regnum", in: tag).flatMap { Int($0) }))
      }
      rest = rest[rest.index(after: close)...]
    }
    return elements
  }

  static func attribute(_ name: String, in tag: Substring) -> String? {
    guard let start = tag.range(of: "\(name)=\"") else { return nil }
    let value = tag[start.upperBound...]
    guard let end = value.firstIndex(of: "\"") else { return nil }
    return String(value[..<end])
  }
}
