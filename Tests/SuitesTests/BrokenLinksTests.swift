import Suites
import Testing

@Suite struct BrokenLinksTests {
  let interrupt = StackLink("an interrupt"), notifications = StackLink("notifications")

  @Test func theFirstFinderOfALinkIsKept() {
    var links = BrokenLinks()
    links.record(interrupt, foundBy: "a/first", message: "first words")
    links.record(interrupt, foundBy: "a/second", message: "second words")
    #expect(links.first(of: [interrupt])?.foundBy == "a/first")
    #expect(BrokenLinks.message(links.first(of: [interrupt])!) == "not run: it needs an interrupt, which a/first found broken: first words")
  }

  @Test func aTestIsDecidedOnlyByALinkItNeeds() {
    var links = BrokenLinks()
    #expect(links.first(of: [interrupt, notifications]) == nil)
    links.record(notifications, foundBy: "b/t", message: "none reached Linux")
    #expect(links.first(of: [interrupt]) == nil)
    #expect(links.first(of: []) == nil)
    #expect(links.first(of: [interrupt, notifications])?.link == notifications)
  }
}
