import Foundation
import HarnessSupport
import QMP

/// QEMU's end of a QMP connection, on a real unix socket: greets, reads the commands the client sends (in
/// order, with their ids) and answers them, events included, as the test says.
package final class FakeQMP: @unchecked Sendable {
  /// The harness's end, not yet connected.
  package let client: QMPClient
  private let peer: SocketConnection
  private var pending = ""
  private var chunks: AsyncStream<[UInt8]>.Iterator

  package init() async throws {
    let path = ScratchFolder.path("qmp-\(UUID().uuidString.prefix(8)).sock").path
    let listener = try UnixListener(path: path)
    defer { listener.close() }
    peer = try SocketConnection.connect(path: path)
    client = QMPClient(connection: try await listener.accept("QMP", deadline: .after(.seconds(5))))
    chunks = peer.chunks.makeAsyncIterator()
  }

  /// Sends one JSON line (a greeting, a reply, an event).
  package func send(_ json: String) throws { try peer.write(Array(json.utf8) + [10]) }

  /// Greets and answers `qmp_capabilities`, while `connect` (run alongside) negotiates.
  package func greet() async throws {
    try send(#"{"QMP": {"version": {}, "capabilities": []}}"#)
    let negotiation = try await commands(1)
    guard negotiation.first?.execute == "qmp_capabilities" else { throw HarnessError("the client did not negotiate first") }
    try send(#"{"return": {}, "id": \#(negotiation[0].id)}"#)
  }

  /// The next `count` commands the client sent: their ids and names.
  package func commands(_ count: Int) async throws -> [(id: Int, execute: String)] {
    var found: [(id: Int, execute: String)] = []
    while found.count < count {
      if let newline = pending.firstIndex(of: "\n") {
        let line = String(pending[..<newline])
        pending = String(pending[pending.index(after: newline)...])
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let id = object["id"] as? Int, let execute = object["execute"] as? String
        else { throw HarnessError("the client sent a line that is not a command: \(line)") }
        found.append((id, execute))
        continue
      }
      guard let chunk = await chunks.next() else { throw HarnessError("the client hung up") }
      pending += String(decoding: chunk, as: UTF8.self)
    }
    return found
  }

  /// Closes QEMU's end (QEMU exited).
  package func hangUp() { peer.close() }
}
