import HarnessSupport
import Testing

@Suite struct StatisticsTests {
  @Test func theMedianIsTheMiddleOrTheMeanOfTheTwoMiddles() {
    #expect(median([3, 1, 2]) == 2)
    #expect(median([4, 1, 3, 2]) == 2.5)
    #expect(median([]) == nil)
  }
}
