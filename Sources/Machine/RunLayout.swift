import Foundation
import HarnessSupport
import Images

extension MachineConfiguration {
  /// A configuration for `images` whose transcripts go to `runDirectory` and whose sockets go to a fresh
  /// private folder under `$TMPDIR` (short, so unix socket paths fit).
  package static func make(images: StackImages, spec: MachineSpec, runDirectory: URL) throws -> MachineConfiguration {
    MachineConfiguration(images: images, spec: spec, runDirectory: runDirectory, socketDirectory: try privateSocketDirectory())
  }

  /// `mkdtemp` under `$TMPDIR` (or /tmp): mode 0700, nothing else can connect to the machine.
  static func privateSocketDirectory() throws -> URL {
    let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    // The owner's pid in the name: the folder of a killed run is swept (`Leftovers`).
    var template = Array("\(base)/teeharness-\(getpid())-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      throw HarnessError("cannot create a private folder under \(base): \(String(cString: strerror(errno)))",
        fix: "set TMPDIR to a writable folder")
    }
    return URL(fileURLWithPath: String(cString: made), isDirectory: true)
  }
}
