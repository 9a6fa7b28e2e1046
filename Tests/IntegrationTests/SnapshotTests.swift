import Foundation
import Guest
import GDBRemote
import HarnessSuites
@testable import Machine
import Reporting
import Suites
import Testing

extension Integration {
  /// Machines restored from the one saved at the first boot: as good as booted, and isolated from each other.
  @Suite struct SnapshotTests {
    /// What a machine showed of itself, to compare a restored one with the booted one.
    actor Seen {
      var booted: (supplicant: String, threads: [OpteeThread])?
      func record(_ supplicant: String, _ threads: [OpteeThread]) { booted = (supplicant, threads) }
    }

    func runner(_ label: String, store: URL) async throws -> SuiteRunner {
      var runner = SuiteRunner(facts: try await SharedStack.shared.facts(), runDirectory: SharedStack.runFolder(label),
        reporter: TerminalReporter(), checks: .optee)
      runner.snapshots = SnapshotStore(directory: store)
      return runner
    }

    @Test func everyTestGetsARestoredMachineAsGoodAsTheBootedOneAndNothingLeaksToTheNext() async throws {
      let store = SharedStack.runFolder("snapshots")
      defer { try? FileManager.default.removeItem(at: store) }
      let seen = Seen()
      let suite = Suite("restore") {
        Test("the booted machine, saved before this test") { t in
          try t.require(await !t.machine.restored, "the first machine should be booted (the store was empty)")
          let supplicant = try await t.run("pidof tee-supplicant").output
          await seen.record(supplicant, try await t.optee.probe().threadTable())
        }
        Test("a restored machine: same thread table, same tee-supplicant, the secure console and notifications work") { t in
          try t.require(await t.machine.restored, "this machine should be restored")
          let guestClock = Double(try await t.run("date +%s").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
          let hostClock = Date().timeIntervalSince1970
          try t.require(abs(guestClock - hostClock) < 3, "the restored guest's clock reads \(guestClock), the host's \(hostClock)")
          let boot = await t.secure.linesSinceBoot().filter { $0.time < 0 }
          try t.require(boot.contains { $0.text.contains("Asynchronous notifications are enabled") },
            "the restored machine does not know what OP-TEE printed at boot (\(boot.count) earlier lines)")
          let booted = await seen.booted
          let supplicant = try await t.run("pidof tee-supplicant").output
          try t.require(supplicant == booted?.supplicant, "tee-supplicant is \(supplicant), the booted machine had \(booted?.supplicant ?? "-")")
          let threads = try await t.optee.probe().threadTable()
          try t.require(threads == booted?.threads, "thread table \(threads), the booted machine had \(booted?.threads ?? [])")
          let typed = try await t.secureConsole.typeOneByOne("xyz")
          try t.require(typed.problems.isEmpty && typed.latencies.allSatisfy { ($0 ?? 9) < 0.5 }, "bytes typed after the restore: \(typed.problems), \(typed.latencies)")
          let before = try await t.interrupts.notifications()
          _ = try await t.run("sleep 2.2")
          let after = try await t.interrupts.notifications()
          try t.require(after > before, "no notification in 2.2 s: optee_notification \(before) → \(after)")
        }
        Test("leaves a thread busy and kills tee-supplicant", leavesThreadsBusy: "on purpose: the next test must not see it") { t in
          try await t.client.waitUntilInvoking(try await t.client.start(1, "wait", ms: 60_000, tag: "left-behind"), count: 1)
          _ = try await t.run("kill -9 $(pidof tee-supplicant)")
          let threads = try await t.optee.probe().threadTable()
          try t.require(threads.contains { !$0.isFree }, "the waiting call holds no thread: \(threads)")
        }
        Test("the next test: every thread FREE and the same tee-supplicant") { t in
          let supplicant = try await t.run("pidof tee-supplicant").output
          try t.require(supplicant == (await seen.booted?.supplicant), "tee-supplicant is '\(supplicant)'")
          let threads = try await t.optee.probe().threadTable()
          try t.require(threads.allSatisfy(\.isFree), "threads left by the test before: \(threads)")
        }
      }
      let result = try await runner("restore", store: store).run([suite])
      for r in result.allTests { #expect(r.outcome == .passed, "\(r.name): \(r.message ?? "") \(r.details ?? "")") }
      let properties = result.suites.first?.properties ?? [:]
      #expect(properties["snapshot.saved"] != nil)
      let ready = try #require(properties["restore.ready"].flatMap { Double($0.replacingOccurrences(of: " s", with: "")) })
      print("restore → ready: \(ready) s; saved in \(properties["snapshot.saved"] ?? "-")")
    }

    /// One flipped byte in the middle of the saved RAM (which QEMU would load without a word): the digest saved
    /// beside it catches it before the load; the run boots, says so, and saves the machine again.
    @Test func aDamagedSavedMachineIsNeverLoadedTheRunBootsAndSavesItAgain() async throws {
      let store = SharedStack.runFolder("snapshots-damaged")
      defer { try? FileManager.default.removeItem(at: store) }
      var runner = try await runner("damaged", store: store)
      let suite = Suite("damaged") {
        Test("runs") { t in _ = try await t.run("true") }
      }
      // The first run saves; then the file is damaged and the second run must boot, say so and save again.
      _ = await runner.run([suite])
      let files = try FileManager.default.contentsOfDirectory(at: store, includingPropertiesForKeys: nil).filter { $0.pathExtension == "vmstate" }
      let file = try #require(files.first)
      var bytes = try Data(contentsOf: file)
      bytes[bytes.count / 2] ^= 0x01
      try bytes.write(to: file)
      runner.runDirectory = SharedStack.runFolder("damaged-2")
      let result = await runner.run([suite])
      let test = try #require(result.allTests.first)
      #expect(test.outcome == .passed, "\(test.message ?? "")")
      let damaged = result.suites.first?.properties["restore.damaged"] ?? ""
      #expect(damaged.contains("does not match its sha256") && damaged.contains("boots and saves it anew"), "\(damaged)")
      #expect(result.suites.first?.properties["restore.failed"] == nil, "the damaged file was loaded")
      #expect(await SnapshotStore.damage(of: file) == nil, "the machine saved again is intact")
      let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
      #expect(size > 10_000_000, "the saved machine was not saved again: \(size) bytes")
    }

    @Test func aRestoredMachineWhoseSecureTimerIsDeadFailsTheWatchdogTest() async throws {
      let store = SharedStack.runFolder("snapshots-dead-timer")
      defer { try? FileManager.default.removeItem(at: store) }
      var runner = try await runner("dead-timer", store: store)
      runner.rearmSecureTimer = false
      runner.select = { _, test in test.name.contains("watchdog's bottom half") }
      _ = await runner.run([asyncNotificationsSuite.fresh(.perSuite)])  // boots and saves
      runner.runDirectory = SharedStack.runFolder("dead-timer-2")
      let result = await runner.run([asyncNotificationsSuite])
      let test = try #require(result.allTests.first)
      #expect(test.outcome == .failed)
      #expect(test.message?.contains("the watchdog's callout ran 0 times") == true, "\(test.message ?? "")")
    }
  }
}
