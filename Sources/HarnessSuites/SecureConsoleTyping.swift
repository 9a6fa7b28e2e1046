import Console
import Foundation
import HarnessSupport
import Suites

/// Bytes typed at the secure console and when OP-TEE read each of them.
public struct TypedBytes: Sendable {
  public var bytes: [UInt8]
  /// The host time (secure console clock) each byte was written.
  public var typedAt: [Double]
  /// What OP-TEE read from the first byte's writing on.
  public var input: SecureConsoleInput

  public init(bytes: [UInt8], typedAt: [Double], input: SecureConsoleInput) {
    self.bytes = bytes
    self.typedAt = typedAt
    self.input = input
  }

  /// Seconds from each byte's writing to its `got` line, nil for a byte never read.
  public var latencies: [Double?] {
    zip(bytes, typedAt).map { byte, at in input.firstRead(of: byte, after: at).map { $0.time - at } }
  }
  public var problems: [String] { input.problems(typed: bytes) }
  /// The spread of the latencies of the bytes that were read.
  public var latencySummary: String { spread(latencies.compactMap { $0 }) }
}

extension TestContext {
  /// Types `text` at the secure console one byte at a time, as a person would: each once OP-TEE read the one
  /// before (or `each` passed) and `cadence` after the keystroke before — so each byte meets a UART whose
  /// interrupt the previous bottom half has enabled again. Returns what was read.
  public func typeSecureOneByOne(_ text: String, cadence: Duration = .milliseconds(100), each: Duration = .seconds(3))
    async throws -> TypedBytes
  {
    let bytes = Array(text.utf8)
    var typedAt: [Double] = []
    let from = secure.now()
    var keystroke = ContinuousClock.now
    for (i, byte) in bytes.enumerated() {
      // The typist's rhythm is the stimulus itself: keystrokes `cadence` apart.
      if i > 0 { try await Task.sleep(until: keystroke + cadence, clock: .continuous) }
      keystroke = .now
      await secure.discardPending()
      typedAt.append(secure.now())
      try await secure.send(bytes: [byte])
      _ = try? await secure.expect(.regex("read_console:\\d+ got 0x\(String(byte, radix: 16))\\b"), timeout: each, deadline: deadline)
    }
    return TypedBytes(bytes: bytes, typedAt: typedAt, input: SecureConsoleInput(lines: await secure.slice(from: from)))
  }

  /// Types `text` at the secure console in one write; waits until OP-TEE read its last byte (or `within`
  /// passed); returns what was read.
  public func typeSecureBurst(_ text: String, within: Duration = .seconds(5)) async throws -> TypedBytes {
    let bytes = Array(text.utf8)
    await secure.discardPending()
    let at = secure.now()
    try await secure.send(bytes: bytes)
    if let last = bytes.last {
      _ = try? await secure.expect(.regex("read_console:\\d+ got 0x\(String(last, radix: 16))\\b"), timeout: within, deadline: deadline)
    }
    return TypedBytes(bytes: bytes, typedAt: Array(repeating: at, count: bytes.count),
      input: SecureConsoleInput(lines: await secure.slice(from: at)))
  }
}
