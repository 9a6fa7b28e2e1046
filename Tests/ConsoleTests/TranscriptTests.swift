import Testing

@testable import Console

@Suite struct TranscriptTests {
  @Test func linesKeepTheTimeTheyStarted() {
    var t = Transcript(file: nil)
    t.add("hel", at: 1.0)
    t.add("lo\nwor", at: 2.0)
    t.add("ld\n", at: 3.0)
    #expect(t.lines == [.init(time: 1.0, text: "hello"), .init(time: 2.0, text: "world")])
    #expect(t.slice(from: 1.5).map(\.text) == ["world"])
    #expect(t.tail(1) == "[   2.000] world")
  }

  @Test func aTypedLineStandsApartFromALineStillArriving() {
    var t = Transcript(file: nil)
    t.add("[ 5.1] optee: half a kern", at: 1.0)
    t.addTyped("teeharness# echo a\necho b", at: 1.5)
    t.add("el line\n", at: 2.0)
    #expect(t.lines.map(\.text) == ["teeharness# echo a", "echo b", "[ 5.1] optee: half a kernel line"])
    #expect(t.lines.map(\.time) == [1.5, 1.5, 1.0])
  }
}
