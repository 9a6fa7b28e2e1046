import Foundation
import HarnessSupport
import Images

/// A clean Debian (or Ubuntu) root made with `debootstrap` (minbase plus `include`), in which a command runs as on a fresh
/// host of that release: the Swift toolchain and the project's folders are bound in, `/proc` is mounted, and all
/// of it in a mount namespace of its own, so no mount outlives the command whatever ends it. The pristine root is
/// kept as a tarball in the cache (`roots/`); each use unpacks a fresh copy into the temporary folder
/// (`teeharness-PID-root-…`, swept after a killed run) and removes it after.
struct DebianRoot {
  let suite: String
  let folder: URL

  static let mirror = "http://deb.debian.org/debian"

  /// A fresh root of `suite` with `include`'s packages.
  static func make(_ suite: String, include: [String] = []) async throws -> DebianRoot {
    var tools = HostSetup()
    tools.requirements = [.init(provides: "debootstrap", package: "debootstrap")]
    try await tools.ensure { print($0) }
    let cache = CacheLocation.resolve().appendingPathComponent("roots", isDirectory: true)
    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    let key = SHA256.hex(suite + " " + include.sorted().joined(separator: ",")).prefix(12)
    let tarball = cache.appendingPathComponent("\(suite)-minbase-\(key).tar")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("teeharness-\(getpid())-root-\(suite)-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    do {
      try await fill(folder, suite: suite, include: include, tarball: tarball, cache: cache)
    } catch {
      try? FileManager.default.removeItem(at: folder)
      throw error
    }
    return DebianRoot(suite: suite, folder: folder)
  }

  /// Unpacks the cached root into `folder`, or makes it there with debootstrap and caches it.
  private static func fill(_ folder: URL, suite: String, include: [String], tarball: URL, cache: URL) async throws {
    if !FileManager.default.fileExists(atPath: tarball.path) {
      // In a mount namespace of its own: the /proc and /sys debootstrap mounts go with it, however it ends.
      let made = try await Command.run(["unshare", "--mount", "--propagation", "private", "--fork", "debootstrap", "--variant=minbase"]
        + (include.isEmpty ? [] : ["--include=" + include.joined(separator: ",")]) + arguments(suite, into: folder), timeout: .seconds(1800))
      guard made.status == 0 else { throw HarnessError("debootstrap \(suite) failed", details: made.output.lastLines(20)) }
      let staged = cache.appendingPathComponent(".\(tarball.lastPathComponent).\(getpid()).partial")
      let packed = try await Command.run(["tar", "-C", folder.path, "--numeric-owner", "-cf", staged.path, "."], timeout: .seconds(600))
      guard packed.status == 0, rename(staged.path, tarball.path) == 0 else {
        try? FileManager.default.removeItem(at: staged)
        throw HarnessError("cannot keep the \(suite) root in \(tarball.path)", details: packed.output.lastLines(10))
      }
    } else {
      let unpacked = try await Command.run(["tar", "-C", folder.path, "--numeric-owner", "-xf", tarball.path], timeout: .seconds(600))
      guard unpacked.status == 0 else { throw HarnessError("cannot unpack \(tarball.path)", details: unpacked.output.lastLines(10)) }
    }
  }

  /// debootstrap's arguments for `suite`: Debian's from its archive; Ubuntu's from Ubuntu's, with its universe,
  /// unverified — a Debian host has no Ubuntu keyring to check it with.
  static func arguments(_ suite: String, into folder: URL) -> [String] {
    switch suite {
    case "noble":
      ["--no-check-gpg", "--components=main,universe", suite, folder.path, "http://archive.ubuntu.com/ubuntu", "/usr/share/debootstrap/scripts/gutsy"]
    default: [suite, folder.path, mirror]
    }
  }

  /// `text` as one single-quoted shell word.
  static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

  /// A host folder seen inside the root.
  struct Bind {
    var host: String
    var inside: String
    var readOnly = true
  }

  /// Runs `script` with `/bin/sh` inside the root, as root, with `binds` and `environment`.
  func run(_ script: String, binds: [Bind], environment: [String: String] = [:], timeout: Duration) async throws -> CommandResult {
    let q = Self.quoted, r = folder.path
    let inside = { (path: String) in q(r + path) }
    // The host's network as it is: its resolver, its certificate authorities (a proxy's own among them), pip's
    // settings, where git fetches Swift packages from, and its proxy variables. Files are replaced, never written
    // through a link the root holds.
    var setup = ["set -e", "mount -t proc proc \(inside("/proc"))"]
    for file in ["/etc/resolv.conf", "/etc/ssl/certs/ca-certificates.crt", "/etc/pip.conf", "/etc/gitconfig", "/etc/gitignore"] {
      setup.append("if [ -f \(q(file)) ]; then mkdir -p \(inside((file as NSString).deletingLastPathComponent)); cp --remove-destination \(q(file)) \(inside(file)); fi")
    }
    // Nothing the packages install starts a service.
    setup.append("rm -f \(inside("/usr/sbin/policy-rc.d")); printf '#!/bin/sh\\nexit 101\\n' > \(inside("/usr/sbin/policy-rc.d")); chmod +x \(inside("/usr/sbin/policy-rc.d"))")
    for bind in binds {
      setup.append("mkdir -p \(inside(bind.inside))")
      setup.append("mount --bind \(q(bind.host)) \(inside(bind.inside))")
      if bind.readOnly { setup.append("mount -o remount,bind,ro \(inside(bind.inside))") }
    }
    let proxies = ProcessInfo.processInfo.environment.filter { ["http_proxy", "https_proxy", "no_proxy"].contains($0.key.lowercased()) }
    let exports = proxies.merging(environment) { _, mine in mine }.sorted { $0.key < $1.key }.map { q("\($0.key)=\($0.value)") }
    setup.append((["exec", "chroot", q(r), "/usr/bin/env", "-i", "HOME=/root", "PATH=/opt/swift/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "DEBIAN_FRONTEND=noninteractive"] + exports + ["/bin/sh", "-c", q(script)]).joined(separator: " "))
    return try await Command.run(["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-c", setup.joined(separator: "\n")],
      timeout: timeout)
  }

  func remove() { try? FileManager.default.removeItem(at: folder) }
}
