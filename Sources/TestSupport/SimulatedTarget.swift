import Foundation
import HarnessSupport

/// A QEMU-like machine behind `FakeStub`: CPUs with the registers the probe reads (x0, pc, cpsr, SCR_EL3), a
/// little memory, hardware breakpoints and a running/stopped state, and a script of the places the CPUs reach
/// while the machine runs. It answers as QEMU's stub does: a resumed machine stops at the first scripted place
/// that has a breakpoint armed, and runs on silently when none has; an interrupt stops it. Requests can be made
/// to fail (`E01`) to play a stub that breaks mid-way.
package final class SimulatedTarget: @unchecked Sendable {
  /// Where a CPU is: its PC, exception level and security state, and its x0.
  package struct Place: Sendable {
    package var cpu: Int
    package var pc: UInt64
    package var el: Int
    package var nonSecure: Bool
    package var x0: UInt64
    package init(cpu: Int, pc: UInt64, el: Int = 1, nonSecure: Bool = false, x0: UInt64 = 0) {
      (self.cpu, self.pc, self.el, self.nonSecure, self.x0) = (cpu, pc, el, nonSecure, x0)
    }
  }

  private let lock = NSLock()
  private var cpus: [Place]
  private var route: [Place]
  private var memory: [UInt64: UInt8] = [:]
  private var armed: Set<UInt64> = []
  private var running = true
  private var selected = 0
  private var failing: [String] = []
  private var _inserted: [UInt64] = []
  private var notify: (@Sendable ([FakeStub.Reply]) -> Void)?

  /// A machine of `cpus` CPUs, running, that will reach `route` in order.
  package init(cpus count: Int = 2, route: [Place] = []) {
    cpus = (0..<count).map { Place(cpu: $0, pc: 0x4000_0000, el: 1, nonSecure: true) }
    self.route = route
  }

  /// The breakpoints armed now.
  package var armedBreakpoints: Set<UInt64> { lock.withLock { armed } }
  /// Every breakpoint ever inserted, in order.
  package var inserted: [UInt64] { lock.withLock { _inserted } }
  /// Whether the machine runs.
  package var isRunning: Bool { lock.withLock { running } }
  /// Where `cpu` is now.
  package func pc(ofCPU cpu: Int) -> UInt64 { lock.withLock { cpus[cpu].pc } }

  /// Makes the next `count` steps end as QEMU ends a step another thread kicked the CPU during: a stop, the PC
  /// unmoved.
  package func loseSteps(_ count: Int) { lock.withLock { lostSteps += count } }
  private var lostSteps = 0

  /// Makes requests that start with `prefix` fail with `E01` from now on.
  package func fail(_ prefix: String) { lock.withLock { failing.append(prefix) } }
  /// Adds places the CPUs reach, after those already scripted; a running machine goes on to them at once.
  package func reach(_ places: Place...) {
    let replies = lock.withLock { () -> [FakeStub.Reply] in
      route += places
      return running ? runUntilBreakpoint() : []
    }
    if !replies.isEmpty { notify?(replies) }
  }

  /// A fake stub in front of this machine, its client connected.
  package func stub() async throws -> FakeStub {
    let stub = try await FakeStub(FakeStub.qemuLike(answer))
    lock.withLock { notify = { [weak stub] in stub?.push($0) } }
    try await stub.client.connect(deadline: .after(.seconds(5)))
    return stub
  }

  /// Waits (up to `timeout`) until the machine runs with no breakpoint armed: what a clean stub looks like once
  /// the client's last request arrived. Returns whether it does.
  package func settlesClean(timeout: Duration = .seconds(10)) async -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
      if lock.withLock({ running && armed.isEmpty }) { return true }
      try? await Task.sleep(for: .milliseconds(10))
    }
    return false
  }
  /// Puts `bytes` at `address`.
  package func store(_ bytes: [UInt8], at address: UInt64) {
    lock.withLock { for (i, b) in bytes.enumerated() { memory[address + UInt64(i)] = b } }
  }

  /// The stub's thread name of CPU `cpu`.
  package static func thread(_ cpu: Int) -> String { "p01.\(String(format: "%02x", cpu + 1))" }

  /// How long the machine runs on after an interrupt request before it stops (QEMU stops its vCPUs at their next
  /// exit, not at once).
  package var stopLatency: Duration {
    get { lock.withLock { _stopLatency } }
    set { lock.withLock { _stopLatency = newValue } }
  }
  private var _stopLatency: Duration = .zero

  /// What the stub answers to `request` (the handshake is `FakeStub.qemuLike`'s).
  package func answer(_ request: String) -> [FakeStub.Reply] {
    if request == "\u{03}" {
      let latency = stopLatency
      if latency > .zero { Thread.sleep(forTimeInterval: Double(latency.components.attoseconds) / 1e18 + Double(latency.components.seconds)) }
    }
    return lock.withLock { respond(request) }
  }

  private func respond(_ request: String) -> [FakeStub.Reply] {
    if failing.contains(where: { request.hasPrefix($0) }) { return [.packet("E01")] }
    switch request.first {
    case "\u{03}":
      guard running else { return [] }
      running = false
      selected = 0
      return [.packet("T02thread:\(Self.thread(0));")]
    case "c":
      running = true
      return runUntilBreakpoint()
    case "s":
      if lostSteps > 0 { lostSteps -= 1 } else { cpus[selected].pc += 4 }
      return [.packet("T05thread:\(Self.thread(selected));")]
    case "v":
      // `vCont;s:thread`: that CPU alone steps one instruction.
      guard request.hasPrefix("vCont;s:"), let cpu = Self.cpu(of: String(request.dropFirst(8))), cpu < cpus.count else { return [.packet("")] }
      if lostSteps > 0 { lostSteps -= 1 } else { cpus[cpu].pc += 4 }
      return [.packet("T05thread:\(Self.thread(cpu));")]
    case "Z", "z":
      let fields = request.dropFirst().split(separator: ",")
      guard fields.count == 3, let address = UInt64(fields[1], radix: 16) else { return [.packet("E22")] }
      if request.first == "Z" {
        armed.insert(address)
        _inserted.append(address)
      } else {
        armed.remove(address)
      }
      return [.packet("OK")]
    case "H":
      guard request.hasPrefix("Hg"), let cpu = Self.cpu(of: String(request.dropFirst(2))), cpu < cpus.count else { return [.packet("E22")] }
      selected = cpu
      return [.packet("OK")]
    case "p":
      guard let number = Int(request.dropFirst(), radix: 16), let value = register(number) else { return [.packet("E14")] }
      return [.packet(Self.hex(value.value, bytes: value.bytes))]
    case "m":
      let fields = request.dropFirst().split(separator: ",")
      guard fields.count == 2, let address = UInt64(fields[0], radix: 16), let count = Int(fields[1], radix: 16) else {
        return [.packet("E22")]
      }
      return [.packet((0..<UInt64(count)).map { String(format: "%02x", memory[address + $0] ?? 0) }.joined())]
    case "q" where request == "qfThreadInfo":
      return [.packet("m" + cpus.indices.map(Self.thread).joined(separator: ","))]
    case "q" where request == "qsThreadInfo":
      return [.packet("l")]
    default:
      return [.packet("")]
    }
  }

  /// The next scripted place with a breakpoint: the machine stops there. Places passed on the way are gone.
  private func runUntilBreakpoint() -> [FakeStub.Reply] {
    while !route.isEmpty {
      var place = route.removeFirst()
      if armed.contains(place.pc) {
        cpus[place.cpu] = place
        running = false
        selected = place.cpu
        return [.packet("T05thread:\(Self.thread(place.cpu));hwbreak:;")]
      }
      // Nothing armed there: the CPU executes it and goes on.
      place.pc += 4
      cpus[place.cpu] = place
    }
    return []
  }

  private func register(_ number: Int) -> (value: UInt64, bytes: Int)? {
    let cpu = cpus[selected]
    switch number {
    case 0: return (cpu.x0, 8)
    case 32: return (cpu.pc, 8)
    case 33: return (UInt64(cpu.el) << 2, 4)
    case 90: return (cpu.nonSecure ? 1 : 0, 8)
    default: return nil
    }
  }

  private static func cpu(of thread: String) -> Int? {
    (Int(thread.split(separator: ".").last.map(String.init) ?? thread, radix: 16)).map { $0 - 1 }
  }

  private static func hex(_ value: UInt64, bytes: Int) -> String {
    (0..<bytes).map { String(format: "%02x", (value >> (8 * UInt64($0))) & 0xff) }.joined()
  }
}
