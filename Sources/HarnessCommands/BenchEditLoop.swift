import Foundation
import Guest
import HarnessSuites
import HarnessSupport
import Images
import Reporting
import Suites

/// The loop of a user changing their own tree: a copy of it is built for the first time, then one source file
/// is touched and rebuilt, then edited and taken to the boot suite's first verdict. The copy, its build folder and
/// its stored outputs are removed afterwards; the user's tree is only read.
enum BenchEditLoop {
  /// The file touched in each kind of tree.
  static func editedFile(_ component: ComponentName) -> String? {
    switch component {
    case .optee: "core/arch/arm/kernel/boot.c"
    case .tfa: "bl31/bl31_main.c"
    default: nil
    }
  }

  static func run(_ word: String, stack: StackOptions, rounds: Int, into runFolder: URL, figures: inout Figures) async throws {
    guard let eq = word.firstIndex(of: "="), let component = ComponentName(rawValue: String(word[..<eq])),
      let file = editedFile(component)
    else {
      throw HarnessError("--tree \(word): write optee=PATH or tfa=PATH", fix: "e.g. --tree optee=../optee_os")
    }
    let source = ManifestLoader.resolve(String(word[word.index(after: eq)...]), at: .commandLine("--tree"))
    // The copy lives in the cache, outside any checkout the run folder may be in.
    let copy = stack.cache.appendingPathComponent("tmp/bench-tree-p\(getpid())-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
    let copied = try await Command.run(["cp", "-a", source.path, copy.path])
    guard copied.succeeded else { throw HarnessError("cannot copy \(source.path): \(copied.output.lastLines(2))") }
    var workspaces: Set<URL> = []
    var stored: [ComponentName: Set<String>] = [:]
    defer {
      try? FileManager.default.removeItem(at: copy)
      for w in workspaces { try? FileManager.default.removeItem(at: w) }
      let store = ImageStore(root: stack.cache)
      for (c, keys) in stored { for k in keys { try? store.discard(c, key: k) } }
    }
    let edited = copy.appendingPathComponent(file)
    func touch(_ what: String) throws {
      let handle = try FileHandle(forWritingTo: edited)
      defer { try? handle.close() }
      try handle.seekToEnd()
      try handle.write(contentsOf: Data("/* teeharness bench \(what) \(UUID().uuidString) */\n".utf8))
    }
    // What is built from the copy, and so removed with it: the component and everything built from it.
    var fromTree: Set<ComponentName> = [component]
    for c in ComponentName.allCases where c.dependencies.contains(where: fromTree.contains) { fromTree.insert(c) }
    var overrides = stack.overrides.value
    overrides.with.append("\(component.rawValue)=\(copy.path)")
    func build(_ name: String) async throws -> Double {
      let started = ContinuousClock.now
      let (_, _, outcomes) = try await Stack.prepare(manifest: stack.manifest, overrides: overrides, cache: stack.cache)
      let seconds = (ContinuousClock.now - started).seconds
      for o in outcomes where o.builtSeconds != nil && fromTree.contains(o.component) {
        stored[o.component, default: []].insert(o.key)
        if let w = o.workspace { workspaces.insert(w) }
      }
      if let own = outcomes.first(where: { $0.component == component })?.builtSeconds {
        figures.add("tree: \(name), \(component.rawValue)", own)
      }
      figures.add("tree: \(name), stack", seconds)
      return seconds
    }

    try touch("first")
    _ = try await build("first build")
    for round in 1...max(rounds, 1) {
      try touch("touch \(round)")
      _ = try await build(".c touched")
      // Edit → the first verdict of the boot suite, on a machine booted from the rebuilt stack.
      try touch("edit \(round)")
      let started = ContinuousClock.now
      let (images, manifest, outcomes) = try await Stack.prepare(manifest: stack.manifest, overrides: overrides, cache: stack.cache)
      for o in outcomes where o.builtSeconds != nil && fromTree.contains(o.component) { stored[o.component, default: []].insert(o.key) }
      var runner = SuiteRunner(facts: try StackFacts(images: images, manifest: manifest),
        runDirectory: runFolder.appendingPathComponent("edit-\(round)"), reporter: TerminalReporter(), checks: .optee)
      let first = bootSuite.tests[0].name
      runner.select = { _, test in test.name == first }
      let result = await runner.run([bootSuite])
      let verdict = (ContinuousClock.now - started).seconds
      guard result.allTests.first?.outcome == .passed else {
        throw HarnessError("the boot suite did not pass on the rebuilt tree: \(result.allTests.first?.message ?? "no result")")
      }
      figures.add("tree: edit → boot's first verdict", verdict)
      Output.line("edit \(round): first verdict after \(verdict.formatted(decimals: 1)) s")
    }
  }
}
