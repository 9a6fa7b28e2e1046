import Console
import Foundation
import HarnessSupport
import Reporting
import Suites

/// Bytes typed at the secure console and when OP-TEE read each of them.
package struct TypedBytes: Sendable {
  package var bytes: [UInt8]
  /// The host time (secure console clock) each byte was written.
  package var typedAt: [Double]
  /// What OP-TEE read from the first byte's writing on.
  package var input: SecureConsoleInput

  package init(bytes: [UInt8], typedAt: [Double], input: SecureConsoleInput) {
    self.bytes = bytes
    self.typedAt = typedAt
    self.input = input
  }

  /// Seconds from each byte's writing to its `got` line, nil for a byte never read.
  package var latencies: [Double?] {
    zip(bytes, typedAt).map { byte, at in input.firstRead(of: byte, after: at).map { $0.time - at } }
  }
  package var problems: [String] { input.problems(typed: bytes) }
  /// The bytes read more than `bound` seconds after their keystroke: each from keystroke to read, on the machine's
  /// clock, with how far past the bound.
  package func late(beyond bound: Double) -> [HostStarvation.Late] {
    zip(typedAt, latencies).compactMap { at, latency in
      latency.flatMap { $0 > bound ? HostStarvation.Late(window: at...(at + $0), overshoot: $0 - bound) : nil }
    }
  }

  /// Each keystroke and each read, on the machine's clock: "typed 0x31", "OP-TEE read 0x31".
  package var events: [EventTimeline.Event] {
    zip(bytes, typedAt).map { .init($1, "typed \(byteLabel($0))") } + input.reads.map { .init($0.time, "OP-TEE read \(byteLabel($0.byte))") }
  }

  /// The spread of the latencies of the bytes that were read.
  package var latencySummary: String { spread(latencies.compactMap { $0 }) }

  /// The latencies of the bytes that were read, each labelled with its byte.
  package func measured(_ name: String, bound: Double?) -> Measured {
    let read = zip(bytes, latencies).compactMap { byte, latency in latency.map { (byteLabel(byte), $0) } }
    return Measured(name, unit: "s", samples: read.map(\.1), labels: read.map(\.0), bound: bound)
  }
}

/// A byte as a person reads it: the character when printable, else its hex.
package func byteLabel(_ byte: UInt8) -> String {
  (0x21...0x7e).contains(byte) ? String(UnicodeScalar(byte)) : "0x\(String(byte, radix: 16))"
}

/// Bounds of the secure console's timing: a byte whose interrupt works is read within milliseconds; one picked
/// up by the watchdog's once-a-second bottom half waits 0.5 s on average.
/// Set on the reference host (`HostPace`); a test uses them scaled to its host's pace.
package struct SecureConsoleBounds: Sendable {
  package var medianSeconds = 0.15
  package var maxSeconds = 0.5
  package var burstSeconds = 0.5
  package init() {}

  /// The bounds for a host `pace` slower than the reference; never as long as the watchdog's 1 s period, or a
  /// byte picked up by its bottom half would pass for one read at its own interrupt.
  package func scaled(_ pace: HostPace) -> SecureConsoleBounds {
    var scaled = self
    let scale = { (bound: Double) in min(pace.scaled(bound), max(bound, 0.9)) }
    (scaled.medianSeconds, scaled.maxSeconds, scaled.burstSeconds) = (scale(medianSeconds), scale(maxSeconds), scale(burstSeconds))
    return scaled
  }
}

/// The secure console as a typist sees it: what is typed, and when OP-TEE read it (its console driver's
/// `read_console` lines).
package struct SecureConsole: Sendable {
  let t: TestContext

  /// Types `text` one byte at a time, as a person would: each once OP-TEE read the one before (or `each` passed)
  /// and `cadence` after the keystroke before — so each byte meets a UART whose interrupt the previous bottom half
  /// has enabled again. Stops early once `enough` says so (asked after each byte, with how many were typed), once a byte went
  /// unread (a console that does not read fails as soon as that is known), or once three bytes were read later than
  /// `late` seconds (a bound the caller fails on anyway). Returns what was typed and read.
  ///
  /// With `heard`, each keystroke waits instead until `heard` holds for the bytes typed so far (their interrupt's
  /// top half seen, say) or the byte was read, and typing stops at the first byte neither within `each`: for a byte typed while every
  /// OP-TEE thread is busy, whose read (a bottom half, a yielding call) must wait for a free thread. The reads
  /// are then the caller's to await (`awaitReads`, `input(since:)`).
  package func typeOneByOne(_ text: String, cadence: Duration = .milliseconds(100), each: Duration = .seconds(3),
    late: Double? = nil, until enough: (@Sendable (_ typed: Int) async -> Bool)? = nil,
    heard: (@Sendable (_ typed: Int) async -> Bool)? = nil) async throws -> TypedBytes
  {
    var bytes: [UInt8] = []
    var typedAt: [Double] = []
    let from = t.secure.now()
    var keystroke = ContinuousClock.now
    // A byte OP-TEE never read (or never heard) fails every test that types: typing more would only delay the
    // verdict. Three read late say the same of their interrupt.
    var missed = false, lateReads = 0
    for (i, byte) in text.utf8.enumerated() {
      if i > 0, let enough, await enough(i) { break }
      if missed || lateReads >= 3 { break }
      bytes.append(byte)
      // The typist's rhythm is the stimulus itself: keystrokes `cadence` apart.
      if i > 0 { try await Task.sleep(until: keystroke + cadence, clock: .continuous) }
      keystroke = .now
      await t.secure.discardPending()
      let at = t.secure.now()
      typedAt.append(at)
      try await t.secure.send(bytes: [byte])
      if let heard {
        // A byte the previous bottom half read along with its own raised no interrupt: its read is heard enough.
        missed = try await !t.poll(within: each) {
          if await heard(i + 1) { return true }
          return await input(since: at).reads.contains { $0.byte == byte }
        }
        continue
      }
      let read = (try? await t.secure.expect(SecureConsoleInput.read(of: byte), timeout: each, deadline: t.deadline)) != nil
      missed = !read
      if read, let late, t.secure.now() - at > late { lateReads += 1 }
    }
    return TypedBytes(bytes: bytes, typedAt: typedAt, input: await input(since: from))
  }

  /// Types `text` in one write; waits until OP-TEE read its last byte (or `within` passed); returns what was read.
  package func typeBurst(_ text: String, within: Duration = .seconds(5)) async throws -> TypedBytes {
    let bytes = Array(text.utf8)
    await t.secure.discardPending()
    let at = t.secure.now()
    try await t.secure.send(bytes: bytes)
    if let last = bytes.last {
      _ = try? await t.secure.expect(SecureConsoleInput.read(of: last), timeout: within, deadline: t.deadline)
    }
    return TypedBytes(bytes: bytes, typedAt: Array(repeating: at, count: bytes.count), input: await input(since: at))
  }

  /// Types one byte and returns the time it was written (the secure console's clock), without waiting for it.
  package func type(_ byte: UInt8) async throws -> Double {
    let at = t.secure.now()
    try await t.secure.send(bytes: [byte])
    return at
  }

  /// Waits until OP-TEE read `byte` (bounded by `timeout`); true if it did.
  @discardableResult
  package func awaitRead(of byte: UInt8, timeout: Duration) async -> Bool {
    (try? await t.secure.expect(SecureConsoleInput.read(of: byte), timeout: timeout, deadline: t.deadline)) != nil
  }

  /// Waits for OP-TEE to read each of `bytes`, in turn, up to `each` apiece; once one was not read in time, the
  /// rest get half a second each (a console that stopped reading does not start again for waiting).
  package func awaitReads(of bytes: some Sequence<UInt8>, each: Duration) async {
    var wait = each
    for byte in bytes where await !awaitRead(of: byte, timeout: wait) { wait = .milliseconds(500) }
  }

  /// What OP-TEE read since `time` (the secure console's clock).
  package func input(since time: Double) async -> SecureConsoleInput {
    SecureConsoleInput(lines: await t.secure.slice(from: time))
  }

  /// Converts host instants (a watch's hits) to the secure console's clock (its lines' times): one time base for
  /// the guest's lines and the host's breakpoint hits.
  package func clock() -> @Sendable (ContinuousClock.Instant) -> Double {
    let (instant, seconds) = (ContinuousClock.now, t.secure.now())
    return { seconds + ($0 - instant).seconds }
  }
}
