import Suites

/// Every suite, by name, in the order `check` runs them.
public enum Catalog {
  public static let all: [Suite] = [
    bootSuite, xtestSuite, gdbSuite, threadExhaustionSuite, secureInterruptsSuite, asyncNotificationsSuite, ocallRecoverySuite,
  ]
  /// What `check` runs without `--suite`. `ocall-recovery` is asked for by name: on this stack every
  /// supplicant death deadlocks the driver until the client is killed, and its 60 kill rounds take ~15 min.
  public static let defaultSuites = ["boot", "xtest", "thread-exhaustion"]

  public static func suite(named name: String) -> Suite? { all.first { $0.name == name } }
}
