import Testing

@testable import Console

@Suite struct ExpectBufferTests {
  static let stream = Array("NOTICE:  Booting Trusted Firmware\r\nI/TC: OP-TEE version: 4.10 \u{00e9}\u{1F600}\r\nlogin: ready\r\n".utf8)

  /// Feeds `bytes` in chunks of `size` and waits for each pattern in turn, as the console does.
  static func run(chunk size: Int, _ patterns: [Pattern]) -> [ExpectBuffer.Match] {
    var buffer = ExpectBuffer()
    var matches: [ExpectBuffer.Match] = []
    var remaining = patterns
    var offset = 0
    while offset < stream.count && !remaining.isEmpty {
      buffer.append(Array(stream[offset..<min(offset + size, stream.count)]))
      offset += size
      while let p = remaining.first, let m = buffer.consume(p) {
        matches.append(m)
        remaining.removeFirst()
      }
    }
    return matches
  }

  @Test func matchesTheSameWhateverTheChunkSize() {
    let patterns: [Pattern] = ["Booting Trusted Firmware", .regex(#"OP-TEE version: (\S+) (\S+)\n"#), "ready\n"]
    let reference = Self.run(chunk: Self.stream.count, patterns)
    #expect(reference.count == 3)
    #expect(reference[1].groups == ["OP-TEE version: 4.10 \u{00e9}\u{1F600}\n", "4.10", "\u{00e9}\u{1F600}"])
    for size in 1...Self.stream.count {
      #expect(Self.run(chunk: size, patterns) == reference, "chunk size \(size)")
    }
  }

  @Test func carriageReturnsAreDroppedAndBeforeIsKept() {
    var buffer = ExpectBuffer()
    buffer.append(Array("a\r\nb\r\nc".utf8))
    let m = buffer.consume("b\n")
    #expect(m?.before == "a\n")
    #expect(buffer.pending == "c")
  }

  @Test func aMatchConsumesSoTheSameTextDoesNotMatchTwice() {
    var buffer = ExpectBuffer()
    buffer.append(Array("ok\nok\n".utf8))
    #expect(buffer.consume("ok") != nil)
    #expect(buffer.consume("ok") != nil)
    #expect(buffer.consume("ok") == nil)
  }

  @Test func anInvalidRegexNeverMatches() {
    var buffer = ExpectBuffer()
    buffer.append(Array("(((".utf8))
    #expect(buffer.consume(.regex("(((")) == nil)
  }
}

@Suite struct BadPatternWatcherTests {
  @Test func firesOnCompleteLinesOnly() {
    var watcher = BadPatternWatcher(rules: BadPatternWatcher.normalWorld)
    #expect(watcher.feed("[   12.0] Kernel pa").isEmpty)
    let alarms = watcher.feed("nic - not syncing: No working init found.\n")
    #expect(alarms.map(\.rule) == ["kernel panic"])
    #expect(alarms.first?.line.hasSuffix("No working init found.") == true)
  }

  @Test func knowsTheStacksBadLinesAndItsHarmlessOnes() {
    var normal = BadPatternWatcher(rules: BadPatternWatcher.normalWorld)
    #expect(normal.feed("ERROR: reserving fdt memory region failed (addr=42000000 size=200000 flags=4)\n").isEmpty)
    #expect(normal.feed("[  30.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n").map(\.rule) == ["RCU stall"])
    #expect(normal.feed("[  40.2] Internal error: Oops: 0000000096000004 [#1] SMP\n").map(\.rule) == ["kernel oops"])
    #expect(normal.feed("[  41.0] INFO: task xtest:123 blocked for more than 120 seconds.\n").map(\.rule) == ["hung task"])
    #expect(normal.feed("[   1.0] optee: initialized driver\n").isEmpty)
    var secure = BadPatternWatcher(rules: BadPatternWatcher.secureWorld)
    #expect(secure.feed("E/TC:0 0 Panic at core/kernel/thread.c:123 <thread_init>\n").map(\.rule) == ["OP-TEE panic"])
    #expect(secure.feed("E/TC:0 0 assertion 'x' failed at core/a.c:1 <f>\n").map(\.rule) == ["OP-TEE assertion"])
    #expect(secure.feed("E/TC:? 0 TA panicked with code 0xbeef\n").isEmpty, "a TA panic is a test's business")
  }

  @Test func anAllowedRuleStaysQuiet() {
    var watcher = BadPatternWatcher(rules: BadPatternWatcher.secureWorld)
    watcher.allowed = ["OP-TEE panic"]
    #expect(watcher.feed("Panic at x\n").isEmpty)
    watcher.allowed = []
    #expect(!watcher.feed("Panic at x\n").isEmpty)
  }
}

@Suite struct ShellFramingTests {
  @Test func theEchoOfTheTypedLineDoesNotMatchTheMarkers() {
    let framing = ShellFraming(command: "xtest 1001", token: "abc123")
    var buffer = ExpectBuffer()
    buffer.append(Array(("teeharness# " + framing.line).utf8))
    #expect(buffer.consume(framing.begin) == nil)
    #expect(buffer.consume(framing.end) == nil)
  }

  @Test func outputAndStatusComeBackWithKernelLinesLeftOut() {
    let framing = ShellFraming(command: "dmesg | tail -1", token: "t0")
    var buffer = ExpectBuffer()
    let guest = "teeharness# " + framing.line + "TH-B-t0\n|first\n[   99.123456] random: crng init done\n|[    6.2] optee: initialized driver\n|last without newlineTH-E-t0-3\n"
    for byte in guest.utf8 { buffer.append([byte]) }
    #expect(buffer.consume(framing.begin) != nil)
    let end = buffer.consume(framing.end)
    #expect(end?.groups[1] == "3")
    #expect(ShellFraming.output(between: end?.before ?? "") == "first\n[    6.2] optee: initialized driver\nlast without newline")
  }

  @Test func aKernelMessageBetweenAMarkerAndItsNewlineHidesNeither() {
    let framing = ShellFraming(command: "true", token: "t1")
    var buffer = ExpectBuffer()
    let guest = "teeharness# " + framing.line + "TH-B-t1[   12.802869] hrtimer: interrupt took 24061440 ns\n\n|out\n"
      + "TH-E-t1-142[   13.1] random: crng init done\n\n"
    for byte in guest.utf8 { buffer.append([byte]) }
    #expect(buffer.consume(framing.begin) != nil)
    let end = buffer.consume(framing.end)
    #expect(end?.groups[1] == "142")
    #expect(ShellFraming.output(between: end?.before ?? "") == "out")
  }

  @Test func aBackgroundJobIsNotFollowedByASemicolon() {
    #expect(ShellFraming(command: "sleep 5 &", token: "x").line.contains("{ sleep 5 & }"))
    #expect(ShellFraming(command: "true", token: "x").line.contains("{ true; }"))
    #expect(ShellFraming(command: "sleep 5 &", token: "x", style: .quiet).line.contains("( trap - INT; sleep 5 & )"))
    #expect(ShellFraming(command: "true", token: "x", style: .quiet).line.contains("( trap - INT; true; )"))
  }

  @Test func theQuietShellTypesOnlyTheCommandBetweenTheFramesHalves() {
    let framing = ShellFraming(command: "exit 3", token: "q1", style: .quiet)
    #expect(framing.line == "thb q1; ( trap - INT; exit 3; ) >/tmp/.th 2>&1; the q1 $?\n")
    // Nothing typed is echoed there; were it echoed, the markers would still not be found in it.
    var buffer = ExpectBuffer()
    buffer.append(Array((framing.line + QuietShell.setup).utf8))
    #expect(buffer.consume(framing.begin) == nil)
    #expect(buffer.consume(framing.end) == nil)
    // What `thb` and `the` print reads as the interactive frame does: output lines prefixed, kernel lines not.
    buffer.append(Array("TH-B-q1\n|one\n[   7.1] optee: x\n|twoTH-E-q1-3\n".utf8))
    #expect(buffer.consume(framing.begin) != nil)
    let end = buffer.consume(framing.end)
    #expect(end?.groups[1] == "3")
    #expect(ShellFraming.output(between: end?.before ?? "") == "one\ntwo")
  }
}

@Suite struct BadPatternFramingTests {
  @Test func commandOutputIsDataNotAnAlarm() {
    var watcher = BadPatternWatcher(rules: BadPatternWatcher.normalWorld)
    #expect(watcher.feed("|ffff9e596c9f5d48 t hung_task_panic\n|[  3.1] Kernel panic - from a log file\n").isEmpty)
    #expect(watcher.feed("INFO: task xtest:93 blocked for more than 120 seconds.\n").map(\.rule) == ["hung task"])
    #expect(watcher.feed("Kernel panic - not syncing: Fatal exception\n").map(\.rule) == ["kernel panic"])
  }
}

@Suite struct ExpectBufferResumeTests {
  @Test func aSearchResumedAcrossArrivalsStillFindsAPatternSplitOverThem() {
    var buffer = ExpectBuffer()
    let end = Pattern.regex("TH-E-tok-(\\d+)\\n")
    for i in 0..<2000 {
      buffer.append(Array("|line \(i) of a long output\n".utf8))
      #expect(buffer.consume(end) == nil)
    }
    buffer.append(Array("TH-E-to".utf8))
    #expect(buffer.consume(end) == nil)
    buffer.append(Array("k-0".utf8))
    #expect(buffer.consume(end) == nil)
    buffer.append(Array("\nnext\n".utf8))
    let match = buffer.consume(end)
    #expect(match?.groups == ["TH-E-tok-0\n", "0"])
    #expect(match?.before.hasPrefix("|line 0 of a long output\n") == true)
    #expect(match?.before.hasSuffix("|line 1999 of a long output\n") == true)
    #expect(buffer.pending == "next\n")
  }

  @Test func anotherPatternSearchesFromTheStart() {
    var buffer = ExpectBuffer()
    buffer.append(Array("alpha\nbeta\ngamma\n".utf8))
    #expect(buffer.consume(.literal("delta")) == nil)
    #expect(buffer.consume(.regex("^alpha$"))?.text == "alpha")
  }

  @Test func aTwoLinePatternSplitAcrossArrivalsIsFound() {
    var buffer = ExpectBuffer()
    let pattern = Pattern.regex("first\\nsecond")
    buffer.append(Array("x\nfirst\n".utf8))
    #expect(buffer.consume(pattern) == nil)
    buffer.append(Array("sec".utf8))
    #expect(buffer.consume(pattern) == nil)
    buffer.append(Array("ond\n".utf8))
    #expect(buffer.consume(pattern)?.text == "first\nsecond")
  }
}
