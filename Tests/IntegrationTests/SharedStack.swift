import Foundation
import HarnessSupport
import Images
import Machine
import Suites
import Testing

extension Tag {
  /// Tests that build the real stack and boot it under QEMU.
  @Tag static var integration: Self
}

/// Every test that boots QEMU, one at a time (two cores; one machine at a time keeps timings honest).
@Suite(.tags(.integration), .serialized) enum Integration {}

/// One built default stack for every integration test in the process (built on first use, from the cache after).
actor SharedStack {
  static let shared = SharedStack()
  private var prepared: Task<(StackImages, StackManifest), any Error>?

  func get() async throws -> (StackImages, StackManifest) {
    if prepared == nil {
      prepared = Task {
        if getuid() == 0 { try await HostSetup(browser: true).ensure { print($0) } }
        let (images, manifest, outcomes) = try await Stack.prepare(manifest: "default", cache: CacheLocation.resolve()) { print("images: \($0)") }
        let built = outcomes.compactMap(\.builtSeconds)
        if !built.isEmpty { print("images: built \(built.count) components in \(built.reduce(0, +)) s") }
        return (images, manifest)
      }
    }
    return try await prepared!.value
  }

  func facts() async throws -> StackFacts {
    let (images, manifest) = try await get()
    return try StackFacts(images: images, manifest: manifest)
  }

  /// A configuration whose run folder is fresh and named after `label`.
  func configuration(_ label: String) async throws -> MachineConfiguration {
    let (images, manifest) = try await get()
    return try MachineConfiguration.make(images: images, spec: manifest.machine, runDirectory: Self.runFolder(label))
  }

  static func runFolder(_ label: String) -> URL {
    ScratchFolder.path("\(label)-\(UUID().uuidString.prefix(6))")
  }
}

/// Every live QEMU whose command line mentions `text` (a run folder).
func qemuProcesses(mentioning text: String) -> [Int32] {
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return entries.compactMap { Int32($0) }.filter { pid in
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
    let cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
    return cmdline.contains("qemu-system-aarch64") && cmdline.contains(text) && state != "Z"
  }
}

/// Polls `condition` until it holds or `deadline` passes (for conditions only visible by looking, such as
/// processes in /proc); returns whether it held.
func eventually(within deadline: Deadline, _ condition: () -> Bool) async -> Bool {
  while !condition() {
    if deadline.hasPassed { return false }
    try? await Task.sleep(for: .milliseconds(50))  // bounded by the deadline above
  }
  return true
}

/// Boots the shared stack into a fresh run folder named after `label`, waits until the shell answers, and runs
/// `body` on the ready machine.
func withReadyMachine(_ label: String, _ body: (Machine) async throws -> Void) async throws {
  try await withMachine(try await SharedStack.shared.configuration(label)) { m in
    try await m.awaitReady(deadline: .after(.seconds(120)))
    try await body(m)
  }
}
