import Foundation
import HarnessSupport
import Testing
import TestSupport

@testable import QMP

/// The QMP client against a fake QEMU on a real unix socket (TestSupport's `FakeQMP`).
@Suite struct QMPClientTests {
  @Test func repliesAreRoutedByIDAndEventsStream() async throws {
    let qemu = try await FakeQMP()
    let client = qemu.client
    async let connected: Void = client.connect(deadline: .after(.seconds(5)))
    try await qemu.greet()
    try await connected

    async let first = client.execute("query-status")
    async let second = client.execute("query-name")
    let commands = try await qemu.commands(2)
    let byName = Dictionary(uniqueKeysWithValues: commands.map { ($0.execute, $0.id) })
    // Answer in reverse order, with an event in between.
    try qemu.send(#"{"return": {"name": "vm"}, "id": \#(byName["query-name"]!)}"#)
    try qemu.send(#"{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}}"#)
    try qemu.send(#"{"return": {"status": "paused"}, "id": \#(byName["query-status"]!)}"#)
    #expect(try await first.dictionary["status"] as? String == "paused")
    #expect(try await second.dictionary["name"] as? String == "vm")
    var events = client.events.makeAsyncIterator()
    #expect(await events.next()?.name == "STOP")
    qemu.hangUp()
  }

  @Test func anErrorReplyThrowsAndAClosedPeerFailsPendingCalls() async throws {
    let qemu = try await FakeQMP()
    let client = qemu.client
    async let connected: Void = client.connect(deadline: .after(.seconds(5)))
    try await qemu.greet()
    try await connected

    let bad = Task { try await client.execute("nope") }
    let command = try await qemu.commands(1)
    try qemu.send(#"{"error": {"class": "CommandNotFound", "desc": "no"}, "id": \#(command[0].id)}"#)
    await #expect(throws: QMPCommandError.self) { _ = try await bad.value }

    let hanging = Task { try await client.execute("query-status", deadline: .after(.seconds(10))) }
    _ = try await qemu.commands(1)
    qemu.hangUp()
    await #expect(throws: (any Error).self) { _ = try await hanging.value }
  }

  @Test func aSilentPeerRunsIntoTheDeadline() async throws {
    let qemu = try await FakeQMP()
    let started = ContinuousClock.now
    await #expect(throws: DeadlineExceeded.self) { try await qemu.client.connect(deadline: .after(.milliseconds(300))) }
    #expect(ContinuousClock.now - started < .seconds(3))
    qemu.hangUp()
  }
}
