import Foundation
import HarnessSupport

/// Counts how often CPUs execute one secure-world address while the machine runs on, and reads OP-TEE's thread
/// table on request in the middle — both through the one stub connection, which only the watch's loop uses
/// while it lasts. Made by `SecureWorldProbe.watching(_:named:_:)`.
public actor SecureWorldWatch {
  private let probe: SecureWorldProbe
  private let address: UInt64
  private let entry: UInt64
  private var tableRequests: [CheckedContinuation<[OpteeThread], any Error>] = []
  private var finishing = false
  /// Hits so far.
  public private(set) var hits = 0

  init(probe: SecureWorldProbe, address: UInt64) throws {
    self.probe = probe
    self.address = address
    self.entry = try probe.tee.address("interrupt_main_handler")
  }

  /// OP-TEE's thread table, read at the next secure interrupt (within about a second while counting goes on).
  public func threadTable() async throws -> [OpteeThread] {
    guard !finishing else { throw HarnessError("the watch is over: read the thread table inside its body") }
    return try await withCheckedThrowingContinuation { tableRequests.append($0) }
  }

  private func takeTableRequests() -> [CheckedContinuation<[OpteeThread], any Error>] {
    defer { tableRequests = [] }
    return tableRequests
  }

  private var wantsTable: Bool { !tableRequests.isEmpty }
  func finish() { finishing = true }
  private var isFinishing: Bool { finishing }
  private func count() { hits += 1 }

  /// The loop: runs until `finish()`, then leaves the machine running with no breakpoint of its own.
  func run() async throws {
    let rsp = probe.rsp
    let address = self.address, entry = self.entry
    _ = try await rsp.interrupt(deadline: .after(.seconds(5)))
    try await rsp.insertBreakpoint(.hardware, at: address)
    var entryArmed = false
    defer { Task { for request in await self.takeTableRequests() { request.resume(throwing: HarnessError("the watch ended")) } } }
    try await rsp.resume()
    while true {
      let stop: StopReply
      do {
        stop = try await rsp.waitForStop(deadline: .after(.milliseconds(100)))
      } catch is DeadlineExceeded {
        let finishing = isFinishing
        if finishing || (wantsTable && !entryArmed) {
          // Stop the machine to change breakpoints (a hit may come first: it is handled below all the same).
          let stopped = try await rsp.interrupt(deadline: .after(.seconds(5)))
          if try await handle(stopped, address: address, entry: entry, entryArmed: &entryArmed) { continue }
          if finishing { break }
          try await rsp.insertBreakpoint(.hardware, at: entry)
          entryArmed = true
          if !probe.periodicEntry { try? await probe.poke() }
          try await rsp.resume()
        }
        continue
      }
      _ = try await handle(stop, address: address, entry: entry, entryArmed: &entryArmed)
    }
    try await rsp.removeBreakpoint(.hardware, at: address)
    if entryArmed { try await rsp.removeBreakpoint(.hardware, at: entry) }
    try await rsp.resume()
  }

  /// Deals with one stop; returns true when it resumed the machine (a counted hit or a table read).
  private func handle(_ stop: StopReply, address: UInt64, entry: UInt64, entryArmed: inout Bool) async throws -> Bool {
    let rsp = probe.rsp
    let cpu = try await probe.cpuState(thread: stop.thread, deadline: .after(.seconds(5)))
    if cpu.pc == address {
      count()
      // Step the CPU past the breakpoint, then arm it again.
      try await rsp.removeBreakpoint(.hardware, at: address)
      _ = try await rsp.step()
      try await rsp.insertBreakpoint(.hardware, at: address)
      try await rsp.resume()
      return true
    }
    if cpu.pc == entry && entryArmed {
      try await rsp.removeBreakpoint(.hardware, at: entry)
      entryArmed = false
      let requests = takeTableRequests()
      do {
        guard cpu.secure else { throw HarnessError("stopped at interrupt_main_handler but \(cpu.description)") }
        let table = try await SecureWorldProbe.readTable(rsp: rsp, countAddress: try probe.tee.address("thread_count"),
          threadsAddress: try probe.tee.address("threads"), layout: probe.layout, deadline: .after(.seconds(5)))
        for request in requests { request.resume(returning: table) }
      } catch {
        for request in requests { request.resume(throwing: error) }
      }
      try await rsp.resume()
      return true
    }
    return false
  }
}

extension SecureWorldProbe {
  /// Runs `body` while counting how often CPUs execute `address` (a hardware breakpoint, stepped over and armed
  /// again at each hit); `body` may read the thread table meanwhile. Returns the hits and `body`'s result; the
  /// machine runs on afterwards.
  public func watching<T: Sendable>(_ address: UInt64, _ body: @Sendable (SecureWorldWatch) async throws -> T)
    async throws -> (hits: Int, result: T)
  {
    let watch = try SecureWorldWatch(probe: self, address: address)
    let loop = Task { try await watch.run() }
    let result: T
    do {
      result = try await body(watch)
    } catch {
      await watch.finish()
      _ = try? await loop.value
      throw error
    }
    await watch.finish()
    try await loop.value
    return (await watch.hits, result)
  }
}
