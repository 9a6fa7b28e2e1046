import Foundation
import HarnessSupport
import Testing

@testable import GDBRemote

/// A scripted GDB stub on a unix socket: what QEMU's stub does, and the ways it can misbehave.
final class FakeStub: @unchecked Sendable {
  enum Reply { case packet(String), wire(String), silence }

  let client: RSPClient
  private let peer: SocketConnection
  private let listener: UnixListener
  private let lock = NSLock()
  private var _requests: [String] = []
  private var _acksFromClient = 0
  private var _nacksFromClient = 0
  private var noAck = false
  private var arrivals: [(request: String, times: Int, continuation: CheckedContinuation<Void, Never>)] = []

  /// Requests the client sent, in order (`\u{03}` for an interrupt).
  var requests: [String] { lock.withLock { _requests } }
  var acksFromClient: Int { lock.withLock { _acksFromClient } }
  var nacksFromClient: Int { lock.withLock { _nacksFromClient } }

  /// `resend` is what the stub sends when the client asks for a packet again (`-`).
  init(resend: String? = nil, _ answer: @escaping @Sendable (String) -> [Reply]) async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rsp-\(UUID().uuidString.prefix(8)).sock").path
    listener = try UnixListener(path: path)
    let connection = try SocketConnection.connect(path: path)
    peer = try await listener.accept("fake stub", deadline: .after(.seconds(5)))
    client = RSPClient(connection: connection)
    let chunks = peer.chunks
    Task { [self] in
      var framer = RSPFramer()
      for await chunk in chunks {
        if chunk.contains(0x03) {
          record("\u{03}")
          respond(answer("\u{03}"))
        }
        for event in framer.feed(chunk.filter { $0 != 0x03 }) {
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
      }
    }
  }

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
  func received(_ request: String, times: Int) async {
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

  func hangUp() { peer.close() }

  deinit {
    peer.close()
    listener.close()
  }

  /// What QEMU answers during the handshake; `rest` answers everything else.
  static func qemuLike(_ rest: @escaping @Sendable (String) -> [Reply]) -> @Sendable (String) -> [Reply] {
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

final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var _value = false
  var value: Bool { lock.withLock { _value } }
  func set(_ v: Bool) { lock.withLock { _value = v } }
}

@Suite struct RSPClientTests {
  @Test func handshakeNegotiatesNoAckModeAndNumbersRegistersAcrossIncludedDocuments() async throws {
    let stub = try await FakeStub(FakeStub.qemuLike { _ in [.packet("")] })
    try await stub.client.connect(deadline: .after(.seconds(5)))
    #expect(await stub.client.features["PacketSize"] == "1000")
    #expect(await stub.client.registers == ["x0": 0, "x1": 1, "pc": 32, "cpsr": 33, "SCR_EL3": 90])
    // Acknowledged: qSupported's and QStartNoAckMode's replies; nothing after no-ack mode began.
    #expect(stub.acksFromClient == 2)
    #expect(stub.requests.filter { $0.hasPrefix("qXfer") }.count == 4)
  }

  @Test func memoryRegistersAndRunLengthEncodedReplies() async throws {
    let stub = try await FakeStub(FakeStub.qemuLike { request in
      switch request {
      case "me1c55e8,8": [.packet("0300000000000000")]
      case "p20": [.wire("$10*+#b6")]  // "1", then "0" and 14 more: 0x10 as 8 little-endian bytes
      case "g": [.packet("0102")]
      case "Ma000,2:beef": [.packet("OK")]
      case "m0,4": [.packet("E14")]
      case "qfThreadInfo": [.packet("mp01.01,p01.02")]
      case "qsThreadInfo": [.packet("l")]
      case "Hgp01.02": [.packet("OK")]
      default: [.packet("")]
      }
    })
    let client = stub.client
    try await client.connect(deadline: .after(.seconds(5)))
    #expect(try await client.readInteger(0xe1c55e8, size: 8) == 3)
    #expect(try await client.readRegister("pc") == 0x0010)
    #expect(try await client.readRegisters() == [1, 2])
    try await client.writeMemory(0xa000, [0xbe, 0xef])
    #expect(try await client.threads() == ["p01.01", "p01.02"])
    try await client.selectThread("p01.02")
    await #expect(throws: RSPError.self) { try await client.readMemory(0, count: 4) }
    await #expect(throws: RSPError.self) { try await client.request("vMustReplyEmpty") }
    await #expect(throws: HarnessError.self) { try await client.readRegister("SCR_EL2") }
  }

  @Test func aDamagedReplyIsAskedForAgainInAcknowledgementMode() async throws {
    let stub = try await FakeStub(resend: "OK") { request in
      request.hasPrefix("qSupported") ? [.packet("PacketSize=1000")]  // no no-ack mode: acknowledgements stay on
        : [.wire("$OK#00")]  // "OK" with a wrong checksum
    }
    try await stub.client.connect(deadline: .after(.seconds(5)))
    let reply = try await stub.client.request("Hg1", deadline: .after(.seconds(5)))
    #expect(reply == Array("OK".utf8))
    #expect(stub.nacksFromClient == 1)
    #expect(stub.requests.filter { $0 == "Hg1" }.count == 1)
  }

  @Test func breakpointsStopRepliesAndInterrupts() async throws {
    let armed = Flag()
    let stub = try await FakeStub(FakeStub.qemuLike { request in
      switch request {
      case "Z1,e0924d0,4": armed.set(true); return [.packet("OK")]
      case "z1,e0924d0,4": armed.set(false); return [.packet("OK")]
      case "Z0,e0924d0,4": return [.packet("OK")]
      case "c": return armed.value ? [.packet("T05thread:p01.02;hwbreak:;")] : []
      case "s": return [.packet("T05thread:p01.02;")]
      case "\u{03}": return [.packet("T02thread:p01.01;")]
      default: return [.packet("")]
      }
    })
    let client = stub.client
    try await client.connect(deadline: .after(.seconds(5)))
    try await client.insertBreakpoint(.hardware, at: 0xe0924d0)
    try await client.insertBreakpoint(.software, at: 0xe0924d0)
    try await client.resume()
    let hit = try await client.waitForStop(deadline: .after(.seconds(5)))
    #expect(hit.thread == "p01.02" && hit.reason == "hwbreak" && hit.code == 5)
    let stepped = try await client.step()
    #expect(stepped.thread == "p01.02")
    try await client.removeBreakpoint(.hardware, at: 0xe0924d0)
    try await client.resume()
    let stopped = try await client.interrupt(deadline: .after(.seconds(5)))
    #expect(stopped.code == 2 && stopped.thread == "p01.01")
    #expect(stub.requests.contains("\u{03}"))
    // A request while the target runs is refused before anything is sent.
    try await client.resume()
    await #expect(throws: HarnessError.self) { try await client.readMemory(0, count: 1) }
  }

  @Test func aSilentStubMissesTheDeadlineAndAClosedOneSaysSo() async throws {
    let stub = try await FakeStub(FakeStub.qemuLike { _ in [.silence] })
    let client = stub.client
    try await client.connect(deadline: .after(.seconds(5)))
    let started = ContinuousClock.now
    await #expect(throws: DeadlineExceeded.self) { try await client.readMemory(0x1000, count: 4, deadline: .after(.milliseconds(200))) }
    #expect(ContinuousClock.now - started < .seconds(2))
    let waiting = Task { try await client.readMemory(0x1000, count: 4, deadline: .after(.seconds(10))) }
    // The stub hangs up once the request is in flight.
    try await withDeadline(.after(.seconds(5)), "the second read reaching the stub") { await stub.received("m1000,4", times: 2) }
    stub.hangUp()
    do {
      _ = try await waiting.value
      Issue.record("a read on a closed stub returned data")
    } catch {
      #expect("\(error)".contains("closed"), "\(error)")
    }
  }

  @Test func aSilentStubDuringTheHandshakeIsADeadlineNotAHang() async throws {
    let stub = try await FakeStub { _ in [.silence] }
    await #expect(throws: DeadlineExceeded.self) { try await stub.client.connect(deadline: .after(.milliseconds(300))) }
  }
}
