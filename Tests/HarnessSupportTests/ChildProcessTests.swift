import Foundation
import HarnessSupport
import Testing

@Suite struct ChildProcessTests {
  @Test func anExitIsSeenPromptly() async throws {
    let dir = ScratchFolder.url
    let child = try ChildProcess(["sleep", "0.3"], in: dir, output: dir.appendingPathComponent("cp-\(UUID()).out"))
    let started = ContinuousClock.now
    let status = await child.wait(until: .after(.seconds(10)))
    #expect(status == 0)
    #expect(ContinuousClock.now - started < .seconds(3))
  }

  @Test func aWaiterGivingUpDoesNotReleaseAnother() async throws {
    let dir = ScratchFolder.url
    // A child that runs until told to end: the impatient waiter surely gives up first, however busy the host.
    let child = try ChildProcess(["sleep", "300"], in: dir, output: dir.appendingPathComponent("cp-\(UUID()).out"))
    async let patient = child.wait(until: .after(.seconds(10)))
    let impatient = await child.wait(until: .after(.milliseconds(100)))
    #expect(impatient == nil)
    child.signal(SIGTERM)
    #expect(await patient == 128 + SIGTERM)
    #expect(await child.wait(until: .after(.zero)) == 128 + SIGTERM)
  }

  @Test func theChildStartsWithNoSignalBlockedThoughTheHarnessBlocksSome() async throws {
    let dir = ScratchFolder.url
    var blocked = sigset_t(), previous = sigset_t()
    sigemptyset(&blocked)
    sigaddset(&blocked, SIGTERM)
    sigaddset(&blocked, SIGINT)
    pthread_sigmask(SIG_BLOCK, &blocked, &previous)
    let child = try ChildProcess(["sleep", "30"], in: dir, output: dir.appendingPathComponent("child-\(UUID().uuidString).out"))
    pthread_sigmask(SIG_SETMASK, &previous, nil)
    // Once the guard has exec'd sleep, its status shows the mask it runs with.
    var mask: String?
    let deadline = Deadline.after(.seconds(5))
    while !deadline.hasPassed {
      let status = (try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)) ?? ""
      if status.contains("Name:\tsleep") { mask = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }.map(String.init) }
      if mask != nil { break }
      try await Task.sleep(for: .milliseconds(10))
    }
    #expect(mask == "SigBlk:\t0000000000000000", "\(mask ?? "no status")")
    kill(child.pid, SIGTERM)
    let status = await child.wait(until: .after(.seconds(5)))
    #expect(status != nil, "SIGTERM ends the child")
  }
}
