/// Why the target stopped, from a stop-reply packet (`S05`, `T05thread:2;hwbreak:;`, `W00`, `X09`).
package struct StopReply: Sendable, Equatable {
  package enum Kind: Sendable, Equatable { case signal, exited, terminated }
  package var kind: Kind
  /// The signal number (or the exit status for `W`).
  package var code: UInt8
  /// The thread (vCPU) that stopped, as the stub names it (`2`, `p1.2`).
  package var thread: String?
  /// `swbreak`, `hwbreak`, `watch`, … when the stub says.
  package var reason: String?
  /// Other `name:value` pairs (register values by number, etc.).
  package var fields: [String: String]

  /// Parses a stop reply; nil when the packet is not one.
  package init?(_ payload: [UInt8]) {
    guard let first = payload.first else { return nil }
    let text = String(decoding: payload, as: UTF8.self)
    let number = text.dropFirst().prefix(2)
    switch first {
    case UInt8(ascii: "S"), UInt8(ascii: "T"): kind = .signal
    case UInt8(ascii: "W"): kind = .exited
    case UInt8(ascii: "X"): kind = .terminated
    default: return nil
    }
    guard number.count == 2, let code = UInt8(number, radix: 16) else { return nil }
    self.code = code
    fields = [:]
    thread = nil
    reason = nil
    guard first == UInt8(ascii: "T") else { return }
    for pair in text.dropFirst(3).split(separator: ";") {
      let parts = pair.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      let name = parts[0]
      guard !name.isEmpty else { continue }
      let value = parts.count > 1 ? parts[1] : ""
      switch name {
      case "thread": thread = value
      case "swbreak", "hwbreak", "watch", "rwatch", "awatch", "library", "replaylog", "fork", "vfork", "exec", "create":
        reason = name
        if !value.isEmpty { fields[name] = value }
      default: fields[name] = value
      }
    }
  }
}
