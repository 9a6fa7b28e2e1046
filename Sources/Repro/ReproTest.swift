import Console
import Foundation
import Guest
import GDBRemote
import HarnessSupport
import Suites

extension ReproScript {
  /// The script as a suite of one test, so it runs, reports and exits exactly as `check` does (and gets the
  /// same after-test checks: every OP-TEE thread FREE, no bad line on either console).
  package var suite: Suite {
    let test = self.test
    return Suite("repro", description ?? name) { test }
  }

  /// The scenario as one test: its steps in order, bounded by the script's timeout.
  package var test: Test {
    let script = self
    return Test(name, timeout: timeout, allowing: allowing) { t in
      var player = ReproPlayer(context: t, file: script.file)
      for (i, step) in script.steps.enumerated() { try await player.play(step, number: i + 1) }
    }
  }
}

/// Plays steps on a test's machine, keeping the values steps save.
struct ReproPlayer {
  let context: TestContext
  let file: String
  var saved: [String: String] = [:]

  init(context: TestContext, file: String) {
    self.context = context
    self.file = file
  }

  mutating func play(_ step: ReproScript.Step, number: Int) async throws {
    let t = context
    let place = "step \(number) (\(step.location))"
    t.note("\(place): \(step.action.summary)")
    do {
      switch step.action {
      case .shell(let command, let expect, let status, let save, let timeout):
        let result = try await t.run(fill(command), timeout: timeout)
        if let status, result.status != status {
          throw TestFailure(message: "`\(fill(command))` exited with \(result.status), not \(status)", details: result.output.lastLines(20))
        }
        if let expect, result.output.range(of: fill(expect), options: .regularExpression) == nil {
          throw TestFailure(message: "the output of `\(fill(command))` does not match /\(fill(expect))/", details: result.output.lastLines(20))
        }
        if let save { saved[save] = result.output.trimmingCharacters(in: .whitespacesAndNewlines) }

      case .secure(let text, let read, let timeout):
        let typed = try await t.secureConsole.typeBurst(fill(text), within: timeout)
        if read, !typed.problems.isEmpty {
          throw TestFailure(message: "OP-TEE did not read what was typed at the secure console within \(timeout.seconds.formatted(decimals: 1)) s: \(typed.problems.joined(separator: "; "))")
        }

      case .expect(let console, let pattern, let timeout):
        switch console {
        case .normal: try await t.expectNormal(.regex(fill(pattern)), timeout: timeout)
        case .secure: try await t.expectSecure(.regex(fill(pattern)), timeout: timeout)
        }

      case .gdb(let symbol, let read, let size, let expect, let save, let timeout):
        let probe = try t.optee.probe()
        let symbol = fill(symbol)
        let target = try read.map { try address(fill($0), probe: probe) }
        let (stop, value) = try await probe.whenStopped(at: symbol, requireSecure: target != nil, poke: false,
          deadline: .after(timeout)) { stop -> (CPUStop, UInt64?) in
          guard let target else { return (stop, nil) }
          return (stop, try await probe.rsp.readInteger(target, size: size))
        }
        let text = value.map { "\($0)" } ?? ""
        t.note("\(place): stopped at \(symbol), \(stop.description)\(read.map { ", \($0) = \(text) (0x\(String(value!, radix: 16)))" } ?? "")")
        if let expect, text.range(of: fill(expect), options: .regularExpression) == nil {
          throw TestFailure(message: "\(read!) read \(text) at \(symbol), which does not match /\(fill(expect))/")
        }
        if let save { saved[save] = text }

      case .threads(let expected, let timeout):
        let table = try await t.optee.probe().threadTable(deadline: .after(timeout))
        let text = table.map(\.description).joined(separator: ", ")
        t.note("\(place): \(text)")
        let holds = expected == "free" ? table.allSatisfy(\.isFree) : text.range(of: fill(expected), options: .regularExpression) != nil
        if !holds { throw TestFailure(message: "OP-TEE's thread table is \(text), not \(expected == "free" ? "all FREE" : "/\(fill(expected))/")") }

      case .qmp(let command, let arguments, let expect):
        let answer = try await t.machine.qmp.execute(fill(command), arguments: arguments.mapValues { fill($0) as any Sendable })
        let json = Self.json(answer.value)
        t.note("\(place): \(json)")
        if let expect, json.range(of: fill(expect), options: .regularExpression) == nil {
          throw TestFailure(message: "QMP \(command) answered \(json), which does not match /\(fill(expect))/")
        }

      case .kill(let target, let signal):
        let target = fill(target)
        let pids = target.allSatisfy(\.isNumber) ? target : "$(pidof \(target))"
        let result = try await t.run("p=\"\(pids)\"; [ -n \"$p\" ] && kill -\(signal) $p && echo \"$p\"")
        guard result.status == 0 else {
          throw TestFailure(message: "no guest process \(target) to send SIG\(signal) to", details: result.output)
        }
        t.note("\(place): SIG\(signal) sent to \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")

      case .wait(let condition, let timeout):
        guard let took = try await t.waitUntil(fill(condition), within: timeout) else {
          throw TestFailure(message: "`\(fill(condition))` did not become true within \(timeout.seconds.formatted(decimals: 1)) s")
        }
        t.note("\(place): true after \(took.formatted(decimals: 2)) s")
      }
    } catch let failure as TestFailure {
      throw TestFailure(message: "\(place): \(failure.message)", details: failure.details)
    } catch let timeout as ExpectTimeout {
      throw TestFailure(message: "\(place): \(timeout.description)", details: timeout.context)
    } catch let late as DeadlineExceeded where !t.deadline.hasPassed {
      throw TestFailure(message: "\(place): \(late)", details: await t.machine.context())
    }
  }

  /// `text` with every `${name}` replaced by what a step saved.
  func fill(_ text: String) -> String {
    saved.reduce(text) { $0.replacingOccurrences(of: "${\($1.key)}", with: $1.value) }
  }

  func address(_ text: String, probe: SecureWorldProbe) throws -> UInt64 {
    if text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) { return value }
    return try probe.address(of: text)
  }

  static func json(_ value: Any?) -> String {
    guard let value, JSONSerialization.isValidJSONObject(value),
      let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
    else { return value.map { "\($0)" } ?? "null" }
    return String(decoding: data, as: UTF8.self)
  }
}

extension ReproScript.Action {
  var summary: String {
    switch self {
    case .shell(let command, _, _, _, _): "shell `\(command)`"
    case .secure(let text, _, _): "type \(text.debugDescription) at the secure console"
    case .expect(let console, let pattern, _): "expect /\(pattern)/ on the \(console) console"
    case .gdb(let symbol, let read, _, _, _, _): "gdb: stop at \(symbol)\(read.map { ", read \($0)" } ?? "")"
    case .threads(let expected, _): "OP-TEE threads: \(expected)"
    case .qmp(let command, _, _): "QMP \(command)"
    case .kill(let target, let signal): "kill -\(signal) \(target)"
    case .wait(let condition, _): "wait until `\(condition)`"
    }
  }
}
