import Foundation
import HarnessSupport
import Testing

@Suite struct ChildProcessTests {
  @Test func anExitIsSeenPromptly() async throws {
    let dir = FileManager.default.temporaryDirectory
    let child = try ChildProcess(["sleep", "0.3"], in: dir, output: dir.appendingPathComponent("cp-\(UUID()).out"))
    let started = ContinuousClock.now
    let status = await child.wait(until: .after(.seconds(10)))
    #expect(status == 0)
    #expect(ContinuousClock.now - started < .seconds(3))
  }

  @Test func aWaiterGivingUpDoesNotReleaseAnother() async throws {
    let dir = FileManager.default.temporaryDirectory
    let child = try ChildProcess(["sleep", "0.6"], in: dir, output: dir.appendingPathComponent("cp-\(UUID()).out"))
    async let patient = child.wait(until: .after(.seconds(10)))
    let impatient = await child.wait(until: .after(.milliseconds(100)))
    #expect(impatient == nil)
    #expect(await patient == 0)
    #expect(await child.wait(until: .after(.zero)) == 0)
  }
}
