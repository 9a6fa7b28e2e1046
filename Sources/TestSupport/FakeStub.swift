import Foundation
import GDBRemote
import HarnessSupport

/// A scripted GDB stub on a unix socket: what QEMU's stub does, and the ways it can misbehave.
package final class FakeStub: @unchecked Sendable {
  package enum Reply { case packet(String), wire(String), silence }

  package let client: RSPClient
  private let peer: SocketConnection
  private let listener: UnixListener
  private let lock = NSLock()
  private var _requests: [String] = []
  private var _acksFromClient = 0
  private var _nacksFromClient = 0
  private var noAck = false
  private var arrivals: [(request: String, times: Int, continuation: CheckedContinuation<Void, Never>)] = []

  /// Requests the client sent, in order (`\u{03}` for an interrupt).
  package var requests: [String] { lock.withLock { _requests } }
  package var acksFromClient: Int { lock.withLock { _acksFromClient } }
  package var nacksFromClient: Int { lock.withLock { _nacksFromClient } }

  /// `resend` is what the stub sends when the client asks for a packet again (`-`).
  package init(resend: String? = nil, _ answer: @escaping @Sendable (String) -> [Reply]) async throws {
    let path = ScratchFolder.path("rsp-\(UUID().uuidString.prefix(8)).sock").path
    listener = try UnixListener(path: path)
    let connection = try SocketConnection.connect(path: path)
    peer = try await listener.accept("fake stub", deadline: .after(.seconds(5)))
    client = RSPClient(connection: connection)
    let chunks = peer.chunks
    Task { [self] in
      var framer = RSPFramer()
      for await chunk in chunks {
        // Bytes in the order they came: an interrupt (0x03) between two packets is answered between them.
        let segments = chunk.split(separator: 0x03, omittingEmptySubsequences: false)
        for (i, segment) in segments.enumerated() {
          for event in framer.feed(Array(segment)) {
            switch event {
            case .ack: lock.withLock { _acksFromClient += 1 }
            case .nack:
              lock.withLock { _nacksFromClient += 1 }
              if let resend { respond([.packet(resend)]) }
            case .packet(let payload):
              let request = String(decoding: payload, as: UTF8.self)
              record(request)
              if !noAck { try? peer.write(Array("+".utf8)) }
              let replies = answer(request)
              respond(replies)
              if request == "QStartNoAckMode" { noAck = true }
            default: break
            }
          }
          if i < segments.count - 1 {
            record("\u{03}")
            respond(answer("\u{03}"))
          }
        }
      }
    }
  }

  /// Sends `replies` unasked (a stop the machine reached on its own).
  package func push(_ replies: [Reply]) { respond(replies) }

  private func record(_ request: String) {
    let ready = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
      _requests.append(request)
      let seen = { (r: String) in self._requests.filter { $0 == r }.count }
      let due = arrivals.filter { seen($0.request) >= $0.times }
      arrivals.removeAll { seen($0.request) >= $0.times }
      return due.map(\.continuation)
    }
    for c in ready { c.resume() }
  }

  /// Returns once the stub has received `request` `times` times (bound it with `withDeadline`).
  package func received(_ request: String, times: Int) async {
    await withCheckedContinuation { continuation in
      let already = lock.withLock { () -> Bool in
        if _requests.filter({ $0 == request }).count >= times { return true }
        arrivals.append((request, times, continuation))
        return false
      }
      if already { continuation.resume() }
    }
  }

  private func respond(_ replies: [Reply]) {
    for reply in replies {
      switch reply {
      case .packet(let text): try? peer.write(RSPFramer.encode(Array(text.utf8)))
      case .wire(let raw): try? peer.write(Array(raw.utf8))
      case .silence: break
      }
    }
  }

  package func hangUp() { peer.close() }

  deinit {
    peer.close()
    listener.close()
  }

  /// What QEMU answers during the handshake; `rest` answers everything else.
  package static func qemuLike(_ rest: @escaping @Sendable (String) -> [Reply]) -> @Sendable (String) -> [Reply] {
    { request in
      if request.hasPrefix("qSupported") { return [.packet("PacketSize=1000;qXfer:features:read+;QStartNoAckMode+")] }
      if request == "QStartNoAckMode" { return [.packet("OK")] }
      if request.hasPrefix("qXfer:features:read:target.xml:0,") {
        return [.packet(#"l<?xml version="1.0"?><target><xi:include href="core.xml"/><xi:include href="sys.xml"/></target>"#)]
      }
      if request.hasPrefix("qXfer:features:read:core.xml:0,") {
        return [.packet(#"m<feature name="org.gnu.gdb.aarch64.core"><reg name="x0" bitsize="64"/><reg name="x1" bitsize="64"/>"#)]
      }
      if request.hasPrefix("qXfer:features:read:core.xml:") {
        return [.packet(#"l<reg name="pc" bitsize="64" regnum="32"/><reg name="cpsr" bitsize="32"/></feature>"#)]
      }
      if request.hasPrefix("qXfer:features:read:sys.xml:0,") {
        return [.packet(#"l<feature name="org.qemu.gdb.arm.sys.regs"><reg name="SCR_EL3" bitsize="64" regnum="90"/></feature>"#)]
      }
      return rest(request)
    }
  }
}

/// A flag the stub's answers and the test share.
package final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var _value = false
  package init() {}
  package var value: Bool { lock.withLock { _value } }
  package func set(_ v: Bool) { lock.withLock { _value = v } }
}
