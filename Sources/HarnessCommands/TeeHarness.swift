import ArgumentParser
import Foundation
import HarnessSupport
import Images

/// The `teeharness` command line.
package struct TeeHarness: AsyncParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "teeharness",
    abstract: "Boots a real TF-A → OP-TEE → Linux stack under QEMU and proves what it does.",
    version: HarnessVersion.description,
    subcommands: [CheckCommand.self, SetupCommand.self, ImagesCommand.self, BootCommand.self, GDBCommand.self, ListCommand.self, BenchCommand.self, ReportCommand.self, ReproCommand.self])

  package init() {}

  /// Runs the command line and exits with the harness's exit codes: 0 passed, 1 failed, 2 infrastructure
  /// error, 64 usage.
  package static func execute() async {
    Output.survivePipes()
    // What killed runs left in the temporary folder and the cache (another cache's go when a stack is prepared).
    Leftovers.sweep(cache: CacheLocation.resolve())
    do {
      var command = try parseAsRoot()
      if var async = command as? AsyncParsableCommand {
        try await async.run()
      } else {
        try command.run()
      }
    } catch let error as HarnessError {
      Output.error("error: \(error.line)")
      if let details = error.details { Output.error(details) }
      Foundation.exit(HarnessExit.infrastructure.rawValue)
    } catch let exit as HarnessExitRequest {
      Foundation.exit(exit.code.rawValue)
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }  // --help, --version
      Output.error(fullMessage(for: error))
      // A command line the parser rejects is a usage error; anything else a command throws is infrastructure.
      Foundation.exit(code == .validationFailure ? HarnessExit.usage.rawValue : HarnessExit.infrastructure.rawValue)
    }
  }
}

/// Thrown by a command to end with a given exit code after it has reported (a failed test run).
package struct HarnessExitRequest: Error {
  package var code: HarnessExit
  package init(_ code: HarnessExit) { self.code = code }
}

/// Options every command that touches images shares.
struct StackOptions: ParsableArguments {
  @Option(name: .long, help: "Manifest: a name in manifests/ (default, threads-4, …) or a path.")
  var manifest: String = "default"

  @Option(name: .long, help: "Cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/teeharness).")
  var cacheDir: String?

  var cache: URL { CacheLocation.resolve(cacheDir) }

  @OptionGroup var overrides: OverrideOptions
}

/// The stack changed from the command line: a user's tree or prebuilt files, build options, OP-TEE/build's out/bin.
struct OverrideOptions: ParsableArguments {
  @Option(name: .customLong("with"), help: ArgumentHelp("Build COMPONENT from a local source tree, or take it prebuilt from a folder (repeatable).", valueName: "COMPONENT=PATH"))
  var with: [String] = []

  @Option(name: .customLong("set"), help: ArgumentHelp("Set a build option, or declare a fact with fact.NAME=VALUE (repeatable).", valueName: "COMPONENT.OPTION=VALUE"))
  var set: [String] = []

  @Option(name: .customLong("bin-dir"), help: ArgumentHelp("Take OP-TEE/build's out/bin folder as it is (bl1.bin … bl33.bin, Image); what it lacks comes from the manifest.", valueName: "PATH"))
  var binDir: String?

  var value: ManifestOverrides { ManifestOverrides(with: with, set: set, binDir: binDir) }
}
