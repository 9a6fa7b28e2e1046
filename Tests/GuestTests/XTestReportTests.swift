import Testing
import Suites

@testable import Guest

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

  @Test func anUnfinishedRunSaysTheLastCaseItBegan() {
    let runs = XTest.unfinished(parsing: "== /tmp/xtest-1007.log\n* regression_1007 Test Panic\n== /tmp/xtest-1009.log\n")
    #expect(runs.map(\.log) == ["xtest-1007.log", "xtest-1009.log"])
    #expect(runs.map(\.last) == ["* regression_1007 Test Panic", nil])
    #expect(XTest.unfinished(parsing: "").isEmpty)
  }

  @Test func aLookAtARunSaysWhetherItExitedItsSizeAndWhereItIs() {
    let running = XTest.look(parsing: "size 2882\nlast o regression_1013.2 Concurrency\n")
    #expect(!running.exited && running.size == 2882 && running.last == "o regression_1013.2 Concurrency")
    let done = XTest.look(parsing: "[ 12.5] a kernel line\nexited\nsize 3100\nlast \n")
    #expect(done.exited && done.size == 3100 && done.last == nil)
    let garbled = XTest.look(parsing: "size x\nexit\n")
    #expect(!garbled.exited && garbled.size == nil && garbled.last == nil)
  }

  @Test func aRunPastItsDeadlineIsTooSlowWhileItsLogGrowsAndHungOnceItStopped() {
    let slice = Duration.seconds(5)
    let atWork = XTest.tooSlow("1013", timeout: .seconds(180), slice: slice, size: 2882,
      growth: XTest.Growth(bytes: 2882, within: .seconds(6), at: .now), last: "o regression_1013.2.16 SHA-256 loop repeat 1000")
    #expect(!atWork.hangs && atWork.spoilsMachine)
    #expect(atWork.message == "xtest 1013 did not end within 180 s — still at work, too slow for its time: its log grew to 2882 bytes in its last 6 s, last began: o regression_1013.2.16 SHA-256 loop repeat 1000")
    let earlier = XTest.tooSlow("1013", timeout: .seconds(180), slice: slice, size: 2882,
      growth: XTest.Growth(bytes: 2882, within: .seconds(6), at: .now - .seconds(12)), last: nil)
    #expect(!earlier.hangs && earlier.message.hasSuffix("its log grew to 2882 bytes in the 6 s that ended 12 s before"))
    let stopped = XTest.tooSlow("1007", timeout: .seconds(290), slice: slice, size: 263,
      growth: XTest.Growth(bytes: 263, within: .seconds(5), at: .now - .seconds(40)), last: "* regression_1007 Test Panic")
    #expect(stopped.hangs && stopped.message == "xtest 1007 did not end within 290 s — its log has not grown for at least 40 s (263 bytes), last began: * regression_1007 Test Panic")
    let unread = XTest.tooSlow("1001", timeout: .seconds(90), slice: slice, size: nil, growth: nil, last: nil)
    #expect(unread.hangs && unread.message == "xtest 1001 did not end within 90 s — its log was never read")
  }

  @Test func outputWithoutCasesParsesToNothing() {
    let report = XTestReport(parsing: "xtest: not found\n")
    #expect(report.cases.isEmpty && report.subtests == nil)
  }

  @Test func failedSubtestsAreNamedOnceEach() {
    let text = """
      * regression_1009 TEE Wait
      o regression_1009.1 TEE Wait 0.1s
        regression_1009.1 OK
      o regression_1009.3 Cancel TEE Wait
      regression_1009.3 FAILED
        regression_1009 FAILED
      --- failure context:
      regression_1009.3 FAILED
      3 subtests of which 1 failed
      1 test case of which 1 failed
      """
    let report = XTestReport(parsing: text)
    #expect(report.failedSubtestNames == ["regression_1009.3"])
    #expect(report.cases.map(\.name) == ["regression_1009"] && report.cases.first?.passed == false)
    #expect(report.failedSubtests == 1 && report.testCases == 1 && report.failedTestCases == 1)
  }

  @Test func aSkippedCaseIsNamedWithXTestsReason() {
    let text = """
      * regression_1030 Test ldelf
        regression_1030 OK
      * regression_1031 Test __thread attribute
        regression_1031 OK
      regression_1030 SKIPPED: "no dl support"
      regression_1031 OK
      2 subtests of which 0 failed
      2 test cases of which 0 failed
      """
    let report = XTestReport(parsing: text)
    #expect(report.skipped == ["regression_1030": "no dl support"])
    #expect(report.cases.map(\.name) == ["regression_1030", "regression_1031"] && report.testCases == 2)
  }

  @Test func variantsOfACaseAreCasesOfTheirOwn() {
    let text = """
      * regression_4006_dsa Test TEE Internal API DSA Cipher/Authentication operations
        regression_4006_dsa OK
      * regression_4007_ed25519 Test TEE Internal API Generate ed25519 key
      o regression_4007_ed25519.1 Generate key
        regression_4007_ed25519.1 FAILED
        regression_4007_ed25519 FAILED
      regression_4006_dsa OK
      regression_4007_ed25519 FAILED
      12 subtests of which 1 failed
      2 test cases of which 1 failed
      """
    let report = XTestReport(parsing: text)
    #expect(report.cases.map(\.name) == ["regression_4006_dsa", "regression_4007_ed25519"])
    #expect(report.cases.map(\.passed) == [true, false] && report.failedSubtestNames == ["regression_4007_ed25519.1"])
    #expect(report.testCases == 2)
    for word in ["regression_4006_DSA", "regression__1", "_1001", "regression_1001_", "regression_10a1", "regression_1001.", "régression_1001"] {
      #expect(!XTestReport.isCaseName(word), "\(word)")
    }
  }
}
