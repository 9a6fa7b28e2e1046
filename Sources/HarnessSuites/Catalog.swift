import Suites

/// Every suite, by name, in the order `check` runs them.
public enum Catalog {
  public static let all: [Suite] = [bootSuite, xtestSuite, gdbSuite, threadExhaustionSuite, ocallRecoverySuite]
  /// What `check` runs without `--suite`.
  public static let defaultSuites = ["boot", "xtest", "thread-exhaustion", "ocall-recovery"]

  public static func suite(named name: String) -> Suite? { all.first { $0.name == name } }
}
