import Testing
@testable import HarnessSupport

@Suite struct RepeatedRunsTests {
  @Test func theUnitThatCoversMostWinsAShorterOneOnATie() {
    #expect(RepeatedRuns.trail(["a", "b", "a", "b", "a", "b", "c"]) == "(a → b) × 3 → c")
    #expect(RepeatedRuns.trail(["a", "a", "a", "a"]) == "a × 4")
    #expect(RepeatedRuns.trail(["x", "a", "b", "c", "d", "a", "b", "c", "d"]) == "x → (a → b → c → d) × 2")
    #expect(RepeatedRuns.trail([], empty: "nothing watched") == "nothing watched")
  }

  @Test func aLongTrailOfDifferentNamesIsCutInTheMiddle() {
    let names = (1...20).map { "n\($0)" }
    #expect(RepeatedRuns.trail(names, limit: 6) == "n1 → n2 → n3 → n4 → … 14 more … → n19 → n20")
  }
}
