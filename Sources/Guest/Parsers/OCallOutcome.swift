import Foundation

/// What the harness's tee-supplicant plugin does with an OCALL (images/payloads/plugin).
public enum PluginCommand: String, Sendable {
  case echo, sleep, hang, crash
}

/// The kind of shared memory the client hands the TA for an OCALL's bytes.
public enum SharedMemoryKind: String, Sendable, CaseIterable {
  /// No buffer: the TA sends bytes of its own.
  case none
  /// The client's own buffer, registered with the driver (TEEC_RegisterSharedMemory).
  case registered
  /// A temporary reference: libteec shares the buffer for the one call.
  case temporary
  /// Memory the driver allocates (TEEC_AllocateSharedMemory).
  case allocated
}

/// How an OCALL ended, as the payload client reported it (its `ocall` JSON line).
public struct OCallOutcome: Sendable, Decodable {
  public var command: String
  public var memory: String
  public var result: String
  public var origin: Int
  /// What `tee_invoke_supp_plugin()` returned inside the TA.
  public var plugin: String
  public var bytes: Int
  public var returned: Int
  public var intact: Bool
  /// The checksum of the bytes sent (the plugin logs the same checksum of what it saw).
  public var sum: UInt32
  public var start: Double
  public var end: Double
  public var taMilliseconds: Int

  enum CodingKeys: String, CodingKey {
    case command, memory, result, origin, plugin, bytes, returned, intact, sum, start, end
    case taMilliseconds = "ta_ms"
  }

  public var succeeded: Bool { result == "0x00000000" }
  public var seconds: Double { end - start }

  /// The `ocall` line of the client's output, nil when it printed none (it was killed first).
  public init?(parsing text: String) {
    let decoder = JSONDecoder()
    guard let line = text.split(separator: "\n").last(where: { $0.contains(#""event":"ocall""#) && $0.contains(#""command""#) }),
      let outcome = try? decoder.decode(OCallOutcome.self, from: Data(line.utf8))
    else { return nil }
    self = outcome
  }
}

/// What the plugin logged: `serving` when a call reached it, `served` when it answered.
public struct PluginLog: Sendable {
  public var lines: [String]
  public var serving: [String] { lines.filter { $0.hasPrefix("serving ") } }
  public var served: [String] { lines.filter { $0.hasPrefix("served ") } }

  /// Whether the plugin saw bytes with this checksum and answered.
  public func served(sum: UInt32) -> Bool { served.contains { $0.hasSuffix(" sum=\(sum)") } }
}
