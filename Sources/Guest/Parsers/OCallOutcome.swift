import Foundation

/// What the harness's tee-supplicant plugin does with an OCALL (images/payloads/plugin).
package enum PluginCommand: String, Sendable {
  case echo, sleep, hang, crash
}

/// The kind of shared memory the client hands the TA for an OCALL's bytes.
package enum SharedMemoryKind: String, Sendable, CaseIterable {
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
package struct OCallOutcome: Sendable, Decodable {
  package var command: String
  package var memory: String
  package var result: String
  package var origin: Int
  /// What `tee_invoke_supp_plugin()` returned inside the TA.
  package var plugin: String
  package var bytes: Int
  package var returned: Int
  package var intact: Bool
  /// The checksum of the bytes sent (the plugin logs the same checksum of what it saw).
  package var sum: UInt32
  package var start: Double
  package var end: Double
  package var taMilliseconds: Int

  enum CodingKeys: String, CodingKey {
    case command, memory, result, origin, plugin, bytes, returned, intact, sum, start, end
    case taMilliseconds = "ta_ms"
  }

  package var succeeded: Bool { result == "0x00000000" }
  package var seconds: Double { end - start }

  /// The `ocall` line of the client's output, nil when it printed none (it was killed first).
  package init?(parsing text: String) {
    let decoder = JSONDecoder()
    guard let line = text.split(separator: "\n").last(where: { $0.contains(#""event":"ocall""#) && $0.contains(#""command""#) }),
      let outcome = try? decoder.decode(OCallOutcome.self, from: Data(line.utf8))
    else { return nil }
    self = outcome
  }
}

/// What the plugin logged: `serving` when a call reached it, `served` when it answered.
package struct PluginLog: Sendable {
  package var lines: [String]
  package var serving: [String] { lines.filter { $0.hasPrefix("serving ") } }
  package var served: [String] { lines.filter { $0.hasPrefix("served ") } }

  /// Whether the plugin saw bytes with this checksum and answered.
  package func served(sum: UInt32) -> Bool { served.contains { $0.hasSuffix(" sum=\(sum)") } }
}
