import Foundation

/// Where teeharness keeps everything slow to make: downloads, built images, the private apt state, snapshots.
package enum CacheLocation {
  /// `--cache-dir` if given, else `$TEEHARNESS_CACHE`, else `${XDG_CACHE_HOME:-$HOME/.cache}/teeharness`.
  package static func resolve(_ override: String? = nil) -> URL {
    let env = ProcessInfo.processInfo.environment
    if let override, !override.isEmpty { return URL(fileURLWithPath: override, isDirectory: true).standardizedFileURL }
    if let explicit = env["TEEHARNESS_CACHE"], !explicit.isEmpty { return URL(fileURLWithPath: explicit, isDirectory: true) }
    let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(env["HOME"] ?? "/tmp")/.cache"
    return URL(fileURLWithPath: base, isDirectory: true).appendingPathComponent("teeharness", isDirectory: true)
  }
}
