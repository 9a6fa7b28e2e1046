@testable import GDBRemote
import Testing

/// A thread is ACTIVE only while a CPU runs it in the secure world: more ACTIVE threads than secure CPUs at one
/// stop are threads no CPU runs.
@Suite struct StrandedThreadsTests {
  func cpu(_ n: Int, el: Int, secure: Bool) -> CPUStop { CPUStop(thread: "\(n + 1)", pc: 0, exceptionLevel: el, secure: secure) }
  func table(_ states: String...) -> [OpteeThread] { states.enumerated().map { OpteeThread(index: $0.offset, state: $0.element) } }

  @Test func twoActiveThreadsWithOneCPUInTheSecureWorldAreStranded() {
    let cpus = [cpu(0, el: 1, secure: true), cpu(1, el: 1, secure: false)]
    #expect(OpteeThread.stranded(table("ACTIVE", "ACTIVE"), cpus: cpus).map(\.index) == [0, 1])
  }

  @Test func asManyActiveThreadsAsSecureCPUsMayAllBeRunning() {
    let both = [cpu(0, el: 1, secure: true), cpu(1, el: 0, secure: true)]
    #expect(OpteeThread.stranded(table("ACTIVE", "ACTIVE"), cpus: both).isEmpty)
    let one = [cpu(0, el: 1, secure: true), cpu(1, el: 1, secure: false)]
    #expect(OpteeThread.stranded(table("ACTIVE", "SUSPENDED"), cpus: one).isEmpty, "a SUSPENDED thread waits for the normal world: not stranded")
    #expect(OpteeThread.stranded(table("FREE", "FREE"), cpus: []).isEmpty)
  }

  @Test func aCPUInEL3CountsAsOneThatMayRunAThread() {
    let cpus = [cpu(0, el: 1, secure: true), cpu(1, el: 3, secure: true)]
    #expect(OpteeThread.stranded(table("ACTIVE", "ACTIVE"), cpus: cpus).isEmpty)
  }
}
