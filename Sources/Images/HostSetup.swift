import Foundation
import HarnessSupport

/// The host's prerequisites, checked by what they provide and installed by package name from the host's own
/// release (Debian 12 or 13, Ubuntu 24.04: `HostRelease`). Target packages are only ever downloaded.
package struct HostSetup: Sendable {
  /// Something the harness needs on the host, and the Debian package that provides it (`HostRelease.package`
  /// names it on the host).
  package struct Requirement: Sendable, Equatable {
    /// An executable on PATH, or an absolute path that must exist.
    package var provides: String
    package var package: String
    package init(provides: String, package: String) {
      self.provides = provides
      self.package = package
    }
  }

  package static let base: [Requirement] = [
    .init(provides: "qemu-system-aarch64", package: "qemu-system-arm"),
    .init(provides: "aarch64-linux-gnu-gcc", package: "gcc-aarch64-linux-gnu"),
    .init(provides: "/usr/aarch64-linux-gnu/include/stdio.h", package: "libc6-dev-arm64-cross"),
    .init(provides: "dtc", package: "device-tree-compiler"),
    .init(provides: "/usr/lib/u-boot/qemu_arm64/u-boot.bin", package: "u-boot-qemu"),
    .init(provides: "gdb-multiarch", package: "gdb-multiarch"),
    .init(provides: "/usr/lib/python3/dist-packages/elftools", package: "python3-pyelftools"),
    .init(provides: "/usr/lib/python3/dist-packages/cryptography", package: "python3-cryptography"),
    .init(provides: "dpkg-source", package: "dpkg-dev"),
    .init(provides: "xz", package: "xz-utils"),
    .init(provides: "cpio", package: "cpio"),
    .init(provides: "bc", package: "bc"),
    .init(provides: "bison", package: "bison"),
    .init(provides: "flex", package: "flex"),
    .init(provides: "/usr/include/openssl/ssl.h", package: "libssl-dev"),
    .init(provides: "make", package: "make"),
    .init(provides: "patch", package: "patch"),
    .init(provides: "/usr/lib/apt/apt-helper", package: "apt"),
    .init(provides: "/usr/share/keyrings/debian-archive-keyring.gpg", package: "debian-archive-keyring"),
  ] + reportTools

  /// What the report jobs need (`setup --reports`): Python with pip — ci/junit-check and ci/templates-check fetch
  /// their pinned checkers from PyPI with it.
  package static let reportTools: [Requirement] = [
    .init(provides: "python3", package: "python3"),
    .init(provides: "/usr/lib/python3/dist-packages/pip", package: "python3-pip"),
  ]

  /// What building QEMU from source adds.
  package static let qemuBuild: [Requirement] = [
    .init(provides: "ninja", package: "ninja-build"),
    .init(provides: "pkg-config", package: "pkg-config"),
    .init(provides: "/usr/include/glib-2.0/glib.h", package: "libglib2.0-dev"),
    .init(provides: "/usr/include/pixman-1/pixman.h", package: "libpixman-1-dev"),
    .init(provides: "/usr/share/doc/python3-venv", package: "python3-venv"),
    .init(provides: "/usr/include/slirp/libslirp.h", package: "libslirp-dev"),
    .init(provides: "/usr/include/fdt.h", package: "libfdt-dev"),
  ]

  /// What looking at `report.html` headless adds: a browser that renders it to a picture (`setup --browser`; the
  /// integration test of the report uses it).
  package static let browser: [Requirement] = [.init(provides: "chromium", package: "chromium")]

  package var requirements: [Requirement]
  package var release: HostRelease = .current

  package init(building manifests: [StackManifest] = [], browser: Bool = false) {
    requirements = Self.base + (manifests.contains { $0.components[.qemu] != nil } ? Self.qemuBuild : [])
      + (browser ? Self.browser : [])
  }

  /// The packages whose files are missing.
  package func missingPackages() -> [String] {
    var missing: [String] = []
    for r in requirements where !Self.isPresent(r.provides) && !missing.contains(release.package(r.package)) {
      missing.append(release.package(r.package))
    }
    return missing
  }

  static func isPresent(_ provides: String) -> Bool {
    provides.hasPrefix("/") ? FileManager.default.fileExists(atPath: provides) : (try? Command.locate(provides)) != nil
  }

  /// From the host's own release (`-t CODENAME`, so a host that also lists other suites takes nothing from them).
  package func installCommand(_ packages: [String]) -> [String] {
    ["apt-get", "install", "-y"] + (release.codename.map { ["-t", $0] } ?? []) + ["--no-install-recommends"] + packages
  }

  /// Installs what is missing (as root), saying what it changed.
  /// - Returns: the packages installed (empty when nothing was missing).
  /// - Throws: `HarnessError` when not root (with the exact command to run) or when apt fails.
  @discardableResult
  package func ensure(report: @Sendable (String) -> Void) async throws -> [String] {
    let missing = missingPackages()
    guard !missing.isEmpty else { return [] }
    let command = installCommand(missing)
    guard release.usesApt else {
      throw HarnessError("host prerequisites missing: \(missing.joined(separator: " ")); this host (\(release.name)) has no apt to install them with",
        fix: "install what provides \(requirements.filter { missing.contains(release.package($0.package)) }.map(\.provides).joined(separator: ", ")) by hand, or use Debian 12/13 or Ubuntu 24.04")
    }
    guard getuid() == 0 else {
      throw HarnessError("host prerequisites missing: \(missing.joined(separator: " ")); installing them needs root",
        fix: "run `sudo apt-get update && sudo \(command.joined(separator: " "))`, or `sudo swift run teeharness setup`")
    }
    report("setup: installing \(missing.joined(separator: " ")) from \(release.name)\(release.codename.map { release.name.contains($0) ? "" : " (\($0))" } ?? "")")
    var environment = ProcessInfo.processInfo.environment
    environment["DEBIAN_FRONTEND"] = "noninteractive"
    var result = try await Command.run(command, environment: environment)
    if !result.succeeded {
      report("setup: apt-get install failed; updating the package lists and trying again")
      let update = try await Command.run(["apt-get", "update"], environment: environment)
      guard update.succeeded else {
        throw HarnessError("apt-get update failed: the package archive is unreachable",
          fix: "check the network and /etc/apt/sources.list*", details: update.output.lastLines(6))
      }
      result = try await Command.run(command, environment: environment)
    }
    guard result.succeeded else {
      throw HarnessError("installing \(missing.joined(separator: " ")) failed", fix: "run `\(command.joined(separator: " "))` and read apt's error",
        details: result.output.lastLines(8))
    }
    let still = missingPackages()
    guard still.isEmpty else {
      throw HarnessError("after installing, still missing: \(still.joined(separator: " "))", fix: "install them by hand")
    }
    return missing
  }
}
