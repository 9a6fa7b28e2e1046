import Foundation
import HarnessSupport
import Testing

@testable import Repro

@Suite struct ReproScriptTests {
  @Test func aScriptReadsAsItsSteps() throws {
    let script = try ReproScript.parse("""
      name: a client killed mid-call
      manifest: threads-1
      timeout: 90
      allowing: [OP-TEE panic]
      steps:
        - shell: teeharness-client ocall -c sleep -m 5000 > /tmp/c.json 2>&1 & echo $!
          save: client
        - wait: grep -q '^serving' /tmp/teeharness-plugin.log
          timeout: 15
        - kill: ${client}
          signal: SEGV
        - secure: "abc"
        - expect: got 0x63
          console: secure
        - gdb: thread_rpc
          read: thread_count
          size: 8
          expect: "^1$"
        - threads: SUSPENDED
        - qmp: query-status
          expect: running
      """, file: "x.yaml")
    #expect(script.name == "a client killed mid-call")
    #expect(script.manifest == "threads-1")
    #expect(script.timeout == .seconds(90))
    #expect(script.allowing == ["OP-TEE panic"])
    #expect(script.steps.count == 8)
    #expect(script.steps[2].location.line == 10)
    guard case .kill("${client}", "SEGV") = script.steps[2].action else { Issue.record("\(script.steps[2].action)"); return }
    guard case .shell(_, nil, 0, "client", _) = script.steps[0].action else { Issue.record("\(script.steps[0].action)"); return }
    guard case .gdb("thread_rpc", "thread_count", 8, "^1$", nil, _) = script.steps[5].action else { Issue.record("gdb"); return }
  }

  /// Each broken script, the place its error must name, and a word of the message.
  static let broken: [(String, String, String)] = [
    ("name: x\nsteps:\n  - shell: true\n  - slep: 1\n", "x.yaml:4:5", "'slep' is not a step"),
    ("name: x\nsteps:\n  - shell: true\n    statuz: 1\n", "x.yaml:4:5", "unknown key 'statuz'"),
    ("name: x\nsteps:\n  - kill: ${pid}\n", "x.yaml:3:5", "${pid} is used before any step saves it"),
    ("name: x\nsteps:\n  - wait: true\n    timeout: soon\n", "x.yaml:4:14", "`timeout` is seconds"),
    ("name: x\nsteps:\n  - expect: \"(unclosed\"\n", "x.yaml:3:13", "not a valid regular expression"),
    ("name: x\nsteps:\n  - expect: x\n    console: both\n", "x.yaml:4:14", "normal or secure"),
    ("name: x\nsteps: [\n  - shell: true\n", "x.yaml:3:3", "malformed YAML"),
    ("name: x\nsteps: []\n", "x.yaml:2:8", "at least one step"),
    ("steps:\n  - shell: true\n", "x.yaml:1:1", "no `name`"),
    ("name: x\nsteps:\n  - shell: true\n    wait: true\n", "x.yaml:4:5", "unknown key 'wait' in a shell step"),
    ("name: x\nsteps:\n  - gdb: thread_rpc\n    save: n\n", "x.yaml:4:11", "needs `read:`"),
  ]

  @Test(arguments: 0..<broken.count) func aBrokenScriptNamesItsLineAndColumn(_ i: Int) {
    let (text, place, words) = Self.broken[i]
    let error = #expect(throws: HarnessError.self) { try ReproScript.parse(text, file: "x.yaml") }
    #expect(error?.message.hasPrefix(place) == true, "\(error?.message ?? "no error")")
    #expect(error?.message.contains(words) == true, "\(error?.message ?? "no error")")
  }

  @Test func theShippedScriptsParse() throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../repro").standardized
    let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "yaml" }
    #expect(files.count >= 3)
    for file in files { _ = try ReproScript.load(file) }
  }
}
