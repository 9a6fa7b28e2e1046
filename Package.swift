// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "teeharness",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "teeharness", targets: ["teeharness"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    .executableTarget(name: "teeharness", dependencies: ["HarnessCommands"]),
    .target(
      name: "HarnessCommands",
      dependencies: [
        "HarnessSuites", "Guest", "Repro", "Suites", "Reporting", "Machine", "Images", "HarnessSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .target(name: "Repro", dependencies: ["Guest", "Suites", "Console", "GDBRemote", "Images", "HarnessSupport"]),
    .target(name: "HarnessSuites", dependencies: ["Guest", "Suites", "Machine", "GDBRemote", "Images", "HarnessSupport"]),
    .target(name: "Guest", dependencies: ["Suites", "Reporting", "Machine", "Console", "GDBRemote", "Images", "HarnessSupport"]),
    .target(name: "Suites", dependencies: ["Reporting", "Machine", "Console", "GDBRemote", "Images", "HarnessSupport"]),
    .target(name: "Reporting", dependencies: ["HarnessSupport"]),
    .target(name: "Machine", dependencies: ["Console", "QMP", "GDBRemote", "Images", "HarnessSupport"]),
    .target(name: "Console", dependencies: ["HarnessSupport"]),
    .target(name: "QMP", dependencies: ["HarnessSupport"]),
    .target(name: "GDBRemote", dependencies: ["HarnessSupport"]),
    .target(name: "Images", dependencies: ["HarnessSupport", "Yams"]),
    .target(name: "HarnessSupport"),
    .target(name: "TestSupport", dependencies: ["GDBRemote", "Console", "QMP", "HarnessSupport"]),
    .testTarget(name: "HarnessSupportTests", dependencies: ["HarnessSupport"]),
    .testTarget(name: "ImagesTests", dependencies: ["Images", "HarnessSupport"]),
    .testTarget(name: "ConsoleTests", dependencies: ["Console", "TestSupport", "HarnessSupport"]),
    .testTarget(name: "QMPTests", dependencies: ["QMP", "TestSupport", "HarnessSupport"]),
    .testTarget(name: "GDBRemoteTests", dependencies: ["GDBRemote", "TestSupport", "HarnessSupport"]),
    .testTarget(name: "GuestTests", dependencies: ["Guest", "Suites", "Console", "GDBRemote"]),
    .testTarget(name: "ReportingTests", dependencies: ["Reporting"]),
    .testTarget(name: "SuitesTests", dependencies: ["Suites", "Console", "GDBRemote", "Reporting", "HarnessSupport"]),
    .testTarget(name: "MachineTests", dependencies: ["Machine", "Console", "HarnessSupport"]),
    .testTarget(name: "ReproTests", dependencies: ["Repro", "HarnessSupport"]),
    .testTarget(
      name: "IntegrationTests",
      dependencies: ["HarnessSuites", "Guest", "Repro", "Suites", "Machine", "Images", "HarnessSupport"]),
  ]
)

// Fuzz targets (ci/fuzz): built only when asked, with `-sanitize=fuzzer`, whose libFuzzer provides the driver.
if Context.environment["TEEHARNESS_FUZZ"] == "1" {
  package.products.append(.executable(name: "teeharness-fuzz", targets: ["teeharness-fuzz"]))
  package.targets.append(
    .executableTarget(
      name: "teeharness-fuzz", dependencies: ["GDBRemote", "QMP", "Console", "Guest", "Machine", "Images", "Repro"],
      path: "Fuzz/Sources"))
}
