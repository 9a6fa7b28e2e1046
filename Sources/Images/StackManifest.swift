import Foundation
import HarnessSupport

/// A Debian package in a suite: `optee-os/sid`.
package struct PackageRef: Sendable, Hashable, Codable, CustomStringConvertible {
  package var name: String
  package var suite: String
  package init(_ name: String, suite: String) {
    self.name = name
    self.suite = suite
  }
  package var description: String { "\(name)/\(suite)" }
}

/// The stack components teeharness knows how to build, in build order.
package enum ComponentName: String, Sendable, CaseIterable, Codable, Comparable {
  case optee, tfa, uboot, kernel, payloads, initramfs, qemu

  /// Components whose outputs this one's recipe reads.
  package var dependencies: [ComponentName] {
    switch self {
    case .payloads: [.optee]
    case .initramfs: [.kernel, .payloads]
    default: []
    }
  }

  /// The folder under `images/` holding the harness's own inputs to this component (part of its key).
  package var ownSources: String? {
    switch self {
    case .payloads: "payloads"
    case .initramfs: "initramfs"
    default: nil
    }
  }

  /// Whether the recipe compiles with the cross toolchain (its identity is part of the key).
  var compiles: Bool { self == .payloads }

  /// Whether the component can be built from a local source tree (`path:`), and what such a tree holds.
  package var treeMarkers: [String]? {
    switch self {
    case .optee: ["core/arch/arm", "mk/config.mk", "ta"]
    case .tfa: ["bl31", "plat/qemu", "Makefile"]
    case .kernel: ["Kbuild", "arch/arm64", "drivers/tee"]
    case .qemu: ["configure", "meson.build", "target/arm", "hw/arm/virt.c"]
    default: nil
    }
  }

  /// Folders of a tree that git ignores but its build needs (what a checkout downloaded once).
  package var treeFetchedFolders: [String] { self == .qemu ? ["subprojects"] : [] }

  /// What the component is called in messages.
  package var title: String {
    switch self {
    case .optee: "OP-TEE OS"
    case .tfa: "TF-A"
    case .uboot: "U-Boot"
    case .kernel: "Linux"
    case .payloads: "the payloads"
    case .initramfs: "the initramfs"
    case .qemu: "QEMU"
    }
  }

  package static func < (a: ComponentName, b: ComponentName) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// One component of a stack: where its input comes from (Debian's archive, a local source tree or prebuilt
/// files) and how it is built.
package struct ComponentSpec: Sendable, Equatable {
  package var name: ComponentName
  /// A local source tree (`path:`), built instead of a Debian source with the same options and patches; it is
  /// never written to (the build works in a mirror of it in the cache).
  package var tree: URL?
  /// Files used as they are (`prebuilt:`), by role (the name the component's output gives them).
  package var prebuilt: [String: URL] = [:]
  /// A source package to unpack and build (`dpkg-source -x`, Debian's patches applied).
  package var source: PackageRef?
  /// Binary packages to unpack into one tree.
  package var packages: [PackageRef]
  /// For binary packages: follow their `Depends` to packages whose names start with one of these prefixes
  /// (a kernel meta package → the versioned image → its binary and modules packages).
  package var follow: [String]
  /// Build options, in manifest order, passed to the recipe as `NAME=value`.
  package var options: [Option]
  /// Patch files (absolute paths), applied in order with `patch -p1` to the unpacked source.
  package var patches: [URL]

  package struct Option: Sendable, Equatable, Codable {
    package var name: String
    package var value: String
    package var location: SourceLocation?
    package var assignment: String { "\(name)=\(value)" }
    package static func == (a: Option, b: Option) -> Bool { a.name == b.name && a.value == b.value }
    enum CodingKeys: CodingKey { case name, value }
  }

  /// Every package the component downloads, as locked entries.
  package var lockKeys: [LockKey] {
    // A kernel tree's packages only give their config, and only to `DEFCONFIG=debian`.
    if tree != nil && (name != .kernel || option("DEFCONFIG") != "debian") { return [] }
    return (source.map { [LockKey(kind: .source, package: $0, follow: [])] } ?? [])
      + packages.map { LockKey(kind: .binary, package: $0, follow: follow) }
  }

  package func option(_ name: String) -> String? { options.last { $0.name == name }?.value }

  /// Where the component comes from, in a few words (for progress lines and reports).
  package var origin: String {
    if !prebuilt.isEmpty { return "prebuilt" }
    if let tree { return "tree \(tree.path)" }
    if let source { return "source \(source)" }
    return packages.map(\.description).joined(separator: " ")
  }
}

/// The QEMU the machine runs: the host's binary, or one built from a Debian source package (the `qemu`
/// component).
package enum QEMUChoice: Sendable, Equatable {
  case host(binary: String)
  case built
}

/// The virtual machine every test boots.
package struct MachineSpec: Sendable, Equatable {
  package var cpu: String = "max"
  package var smp: Int = 2
  package var memoryMiB: Int = 1057
  package var append: String = "console=ttyAMA0,38400 keep_bootcon"
  package var qemu: QEMUChoice = .host(binary: "qemu-system-aarch64")
}

/// A whole stack: what `teeharness images build` makes and every suite boots.
package struct StackManifest: Sendable {
  package var name: String
  /// The file it was read from (variants: the variant's file).
  package var file: URL
  package var machine: MachineSpec
  package var components: [ComponentName: ComponentSpec]
  /// Facts declared by the manifest (`facts:`), overriding what is learned from the build (`CFG_*` values, or
  /// harness facts such as `thread-count-advertised`).
  package var facts: [String: String] = [:]
  /// For a stack of the fault catalog: the fault it carries and what the suites must say about it.
  package var fault: FaultSpec?

  package var orderedComponents: [ComponentSpec] { components.values.sorted { $0.name < $1.name } }

  /// The OP-TEE build option `name` (e.g. `CFG_NUM_THREADS`), if the manifest sets it.
  package func opteeOption(_ name: String) -> String? { components[.optee]?.option(name) }
}
