import Foundation
import HarnessSupport
import Testing

@testable import GDBRemote
import TestSupport

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
      case "vCont;s:p01.02": return [.packet("T05thread:p01.02;")]
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
    let stepped = try await client.step()  // the CPU that stopped, alone
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

@Suite struct RSPClientConcurrencyTests {
  /// Requests from several tasks at once: each gets its own reply; none is dropped or given another's.
  @Test func concurrentRequestsAreServedOneAfterTheOther() async throws {
    let stub = try await FakeStub(FakeStub.qemuLike { request in
      guard request.hasPrefix("m"), let comma = request.firstIndex(of: ",") else { return [.packet("")] }
      let address = UInt8(request[request.index(after: request.startIndex)..<comma], radix: 16) ?? 0
      return [.packet(String(format: "%02x", address))]
    })
    let client = stub.client
    try await client.connect(deadline: .after(.seconds(5)))
    let values = try await withDeadline(.after(.seconds(10)), "20 concurrent reads") {
      try await withThrowingTaskGroup(of: (UInt64, UInt64).self) { group in
        for address in UInt64(1)...20 {
          group.addTask { (address, try await client.readInteger(address, size: 1, deadline: .after(.seconds(5)))) }
        }
        return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
      }
    }
    #expect(values.count == 20 && values.allSatisfy { $0.key == $0.value })
  }

  /// Two closures that each want the machine stopped: the second waits for the first to let it go.
  @Test func haltsQueueBehindOneAnother() async throws {
    let target = SimulatedTarget()
    let stub = try await target.stub()
    let client = stub.client
    try await client.connect(deadline: .after(.seconds(5)))
    actor Log { var events: [String] = []; func add(_ e: String) { events.append(e) } }
    let log = Log()
    // The first holds the machine until the second is queued behind it.
    let first = Task {
      try await client.halted(deadline: .after(.seconds(5))) { _ in
        await log.add("first in")
        try await withDeadline(.after(.seconds(5)), "the second halt to queue") {
          while await client.sessions.waitingCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        await log.add("first out")
      }
    }
    try await withDeadline(.after(.seconds(5)), "the first halt") {
      while await log.events.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
    }
    try await client.halted(deadline: .after(.seconds(5))) { _ in await log.add("second in") }
    try await first.value
    #expect(await log.events == ["first in", "first out", "second in"])
    // One that cannot wait that long is told what held the stub.
    actor Gate { var open = false; func release() { open = true } }
    let gate = Gate()
    let holder = Task {
      try await client.halted(deadline: .after(.seconds(5))) { _ in
        try await withDeadline(.after(.seconds(5)), "the holder's release") {
          while await !gate.open { try await Task.sleep(for: .milliseconds(5)) }
        }
      }
    }
    try await withDeadline(.after(.seconds(5)), "the holder's halt") {
      while await client.sessions.current == nil { try await Task.sleep(for: .milliseconds(5)) }
    }
    await #expect(throws: DeadlineExceeded.self) { try await client.halted(deadline: .after(.milliseconds(200))) { _ in } }
    await gate.release()
    try await holder.value
  }
}
