import ArgumentParser
import Foundation
import HarnessSupport

/// The `teeharness` command line.
public struct TeeHarness: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "teeharness",
    abstract: "Boots a real TF-A → OP-TEE → Linux stack under QEMU and proves what it does.",
    subcommands: [CheckCommand.self, SetupCommand.self, ImagesCommand.self, BootCommand.self, GDBCommand.self, ListCommand.self, BenchCommand.self, ReportCommand.self, ReproCommand.self])

  public init() {}

  /// Runs the command line and exits with the harness's exit codes: 0 passed, 1 failed, 2 infrastructure
  /// error, 64 usage.
  public static func execute() async {
    do {
      var command = try parseAsRoot()
      if var async = command as? AsyncParsableCommand {
        try await async.run()
      } else {
        try command.run()
      }
    } catch let error as HarnessError {
      FileHandle.standardError.write(Data("error: \(error.line)\n".utf8))
      if let details = error.details { FileHandle.standardError.write(Data("\(details)\n".utf8)) }
      Foundation.exit(HarnessExit.infrastructure.rawValue)
    } catch let exit as HarnessExitRequest {
      Foundation.exit(exit.code.rawValue)
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }  // --help, --version
      FileHandle.standardError.write(Data("\(fullMessage(for: error))\n".utf8))
      // A command line the parser rejects is a usage error; anything else a command throws is infrastructure.
      Foundation.exit(code == .validationFailure ? HarnessExit.usage.rawValue : HarnessExit.infrastructure.rawValue)
    }
  }
}

/// Thrown by a command to end with a given exit code after it has reported (a failed test run).
public struct HarnessExitRequest: Error {
  public var code: HarnessExit
  public init(_ code: HarnessExit) { self.code = code }
}

/// Options every command that touches images shares.
struct StackOptions: ParsableArguments {
  @Option(name: .long, help: "Manifest: a name in manifests/ (default, threads-4, …) or a path.")
  var manifest: String = "default"

  @Option(name: .long, help: "Cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/teeharness).")
  var cacheDir: String?

  var cache: URL { CacheLocation.resolve(cacheDir) }
}
