import Foundation
import HarnessSupport
import Images
import Machine
import Testing

@Suite(.serialized) struct BootSmoke {
  @Test func boots() async throws {
    let (images, spec, _) = try await Stack.prepare(manifest: "default", cache: CacheLocation.resolve())
    let run = URL(fileURLWithPath: "/tmp/th-run-\(UUID().uuidString.prefix(6))")
    let config = try MachineConfiguration.make(images: images, spec: spec.machine, runDirectory: run)
    let start = ContinuousClock.now
    try await withMachine(config) { m in
      try await m.awaitReady(deadline: .after(.seconds(120)))
      for ms in await m.milestones { print(ms.name, ms.reachedAt ?? -1) }
      let r = try await m.shell.run("cat /proc/interrupts | grep -i optee; ls /dev/tee*; dmesg | wc -l; dmesg | tail -2; false")
      print(r.status, r.output)
      print("before shutdown", ContinuousClock.now - start)
    }
    print("total", ContinuousClock.now - start, run.path)
  }
}
