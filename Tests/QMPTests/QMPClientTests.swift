import Foundation
import HarnessSupport
import Testing

@testable import QMP

/// A fake QEMU on the other end of a real unix socket: greets, then answers commands in the order the test says.
@Suite struct QMPClientTests {
  static func pair() async throws -> (client: QMPClient, peer: SocketConnection, path: String) {
    let path = "/tmp/qmp-test-\(UUID().uuidString.prefix(8)).sock"
    let listener = try UnixListener(path: path)
    defer { listener.close() }
    let peer = try SocketConnection.connect(path: path)
    let accepted = try await listener.accept("QMP", deadline: .after(.seconds(5)))
    return (QMPClient(connection: accepted), peer, path)
  }

  /// Reads the peer side until `count` commands arrived; returns their (id, execute).
  static func readCommands(_ peer: SocketConnection, count: Int) async throws -> [(Int, String)] {
    var text = ""
    var commands: [(Int, String)] = []
    for await chunk in peer.chunks {
      text += String(decoding: chunk, as: UTF8.self)
      while let newline = text.firstIndex(of: "\n") {
        let line = String(text[..<newline])
        text = String(text[text.index(after: newline)...])
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        commands.append((object["id"] as! Int, object["execute"] as! String))
      }
      if commands.count >= count { break }
    }
    return commands
  }

  @Test func repliesAreRoutedByIDAndEventsStream() async throws {
    let (client, peer, _) = try await Self.pair()
    try peer.write(Array(#"{"QMP": {"version": {}, "capabilities": []}}"#.utf8) + [10])
    async let connected: Void = client.connect(deadline: .after(.seconds(5)))
    let negotiation = try await Self.readCommands(peer, count: 1)
    #expect(negotiation.map(\.1) == ["qmp_capabilities"])
    try peer.write(Array(#"{"return": {}, "id": \#(negotiation[0].0)}"#.utf8) + [10])
    try await connected

    async let first = client.execute("query-status")
    async let second = client.execute("query-name")
    let commands = try await Self.readCommands(peer, count: 2)
    let byName = Dictionary(uniqueKeysWithValues: commands.map { ($0.1, $0.0) })
    // Answer in reverse order, with an event in between.
    try peer.write(Array(#"{"return": {"name": "vm"}, "id": \#(byName["query-name"]!)}"#.utf8) + [10])
    try peer.write(Array(#"{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}}"#.utf8) + [10])
    try peer.write(Array(#"{"return": {"status": "paused"}, "id": \#(byName["query-status"]!)}"#.utf8) + [10])
    #expect(try await first.dictionary["status"] as? String == "paused")
    #expect(try await second.dictionary["name"] as? String == "vm")
    var events = client.events.makeAsyncIterator()
    #expect(await events.next()?.name == "STOP")
    peer.close()
  }

  @Test func anErrorReplyThrowsAndAClosedPeerFailsPendingCalls() async throws {
    let (client, peer, _) = try await Self.pair()
    try peer.write(Array(#"{"QMP": {}}"#.utf8) + [10])
    async let connected: Void = client.connect(deadline: .after(.seconds(5)))
    let negotiation = try await Self.readCommands(peer, count: 1)
    try peer.write(Array(#"{"return": {}, "id": \#(negotiation[0].0)}"#.utf8) + [10])
    try await connected

    let bad = Task { try await client.execute("nope") }
    let command = try await Self.readCommands(peer, count: 1)
    try peer.write(Array(#"{"error": {"class": "CommandNotFound", "desc": "no"}, "id": \#(command[0].0)}"#.utf8) + [10])
    await #expect(throws: QMPCommandError.self) { _ = try await bad.value }

    let hanging = Task { try await client.execute("query-status", deadline: .after(.seconds(10))) }
    _ = try await Self.readCommands(peer, count: 1)
    peer.close()
    await #expect(throws: (any Error).self) { _ = try await hanging.value }
  }

  @Test func aSilentPeerRunsIntoTheDeadline() async throws {
    let (client, peer, _) = try await Self.pair()
    let started = ContinuousClock.now
    await #expect(throws: DeadlineExceeded.self) { try await client.connect(deadline: .after(.milliseconds(300))) }
    #expect(ContinuousClock.now - started < .seconds(3))
    peer.close()
  }
}
