import Foundation
import HarnessSupport

/// How OP-TEE's thread table lies in memory, as the build's debug info says (`layout.txt` beside tee.elf).
package struct OpteeLayout: Sendable, Equatable {
  package var threadCtxSize: Int
  package var stateOffset: Int
  package var stateSize: Int
  /// `threads` is a pointer to an array allocated at boot (CFG_DYN_CONFIG) rather than the array itself.
  package var threadsIsPointer: Bool
  package var threadCountSize: Int
  /// `enum thread_state`'s names by value (`THREAD_STATE_FREE`, …).
  package var stateNames: [String]
  /// The instruction where a standard call that found no free thread returns `OPTEE_SMC_RETURN_ETHREAD_LIMIT`.
  package var ethreadLimitReturn: UInt64?

  /// - Throws: `HarnessError` when a value is missing.
  package init(parsing text: String) throws {
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2 { values[parts[0]] = parts[1] }
    }
    func int(_ key: String) throws -> Int {
      guard let v = values[key].flatMap({ Int($0) }) else {
        throw HarnessError("OP-TEE layout has no \(key)", fix: "rebuild the images (`swift run teeharness images build`)")
      }
      return v
    }
    threadCtxSize = try int("thread_ctx_size")
    stateOffset = try int("thread_ctx_state_offset")
    stateSize = try int("thread_ctx_state_size")
    threadCountSize = try int("thread_count_size")
    let threadsSize = try int("threads_size")
    threadsIsPointer = threadsSize == 8 && threadCtxSize != 8
    stateNames = (values["thread_states"] ?? "").split(separator: ",").map(String.init)
    ethreadLimitReturn = values["ethread_limit_return"].flatMap { UInt64($0.dropFirst(2), radix: 16) }
  }

  package init(contentsOf url: URL) throws {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
      throw HarnessError("no OP-TEE thread layout at \(url.path)", fix: "rebuild the images (`swift run teeharness images build`)")
    }
    try self.init(parsing: text)
  }

  /// The short name of state `value` (`FREE`), or the number when the enum does not have it.
  package func stateName(_ value: UInt64) -> String {
    guard let index = Int(exactly: value), index < stateNames.count else { return "state \(value)" }
    return stateNames[index].replacingOccurrences(of: "THREAD_STATE_", with: "")
  }
}
