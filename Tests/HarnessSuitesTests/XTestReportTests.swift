import Testing

@testable import HarnessSuites

@Suite struct XTestReportTests {
  static let output = """
    Test ID: 1033
    * regression_1033 Test the supplicant plugin framework
    o regression_1033.1 Pass values to/from a plugin
      regression_1033.1 OK
    o regression_1033.2 Pass array to a plugin
      regression_1033.2 FAILED
      regression_1033 FAILED
    * pkcs11_1033 Another
      pkcs11_1033 OK
    +-----------------------------------------------------
    Result of testsuite regression+pkcs11 filtered by "1033":
    regression_1033 FAILED
    pkcs11_1033 OK
    +-----------------------------------------------------
    14 subtests of which 1 failed
    1 test case of which 1 failed
    142 test cases were skipped
    """

  @Test func eachCaseOnceWithItsTitleAndVerdict() {
    let report = XTestReport(parsing: Self.output)
    #expect(report.cases.map(\.name) == ["regression_1033", "pkcs11_1033"])
    #expect(report.cases.map(\.passed) == [false, true])
    #expect(report.cases[0].title == "Test the supplicant plugin framework")
    #expect(report.subtests == 14 && report.failedSubtests == 1)
    #expect(report.testCases == 1 && report.failedTestCases == 1)
  }

  @Test func outputWithoutCasesParsesToNothing() {
    let report = XTestReport(parsing: "xtest: not found\n")
    #expect(report.cases.isEmpty && report.subtests == nil)
  }
}
