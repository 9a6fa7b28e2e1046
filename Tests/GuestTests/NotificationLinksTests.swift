import GDBRemote
import Guest
import Suites
import Testing

@Suite struct NotificationLinksTests {
  func links(causes: Int, sent: Int? = nil, counted: Int, bottomHalves: Int) -> NotificationLinks {
    NotificationLinks(cause: "the watchdog's callout (test_wd_callback)", causes: causes, sent: sent, counted: counted,
      bottomHalf: "wd_ndrv_yielding_cb", bottomHalves: bottomHalves)
  }

  @Test func aWholeChainHasNoBrokenLink() {
    #expect(links(causes: 5, sent: 5, counted: 5, bottomHalves: 5).firstBroken == nil)
    // Nothing had to notify: nothing is missing.
    #expect(links(causes: 0, counted: 0, bottomHalves: 0).firstBroken == nil)
  }

  @Test func theFirstLinkThatCarriedNothingIsNamed() {
    #expect(links(causes: 5, sent: 0, counted: 0, bottomHalves: 0).firstBroken?.contains("sent no notification") == true)
    let notRaised = links(causes: 5, sent: 5, counted: 0, bottomHalves: 0).firstBroken
    #expect(notRaised?.contains("Linux counted no notification interrupt") == true)
    #expect(notRaised?.contains("bottom half") == false)
    let noBottomHalf = links(causes: 5, counted: 5, bottomHalves: 0).firstBroken
    #expect(noBottomHalf?.contains("no bottom half ran (wd_ndrv_yielding_cb was never called)") == true)
  }

  /// A notification sent (or counted) and lost breaks the link every cause needs; a cause that sent none, or a
  /// count of sends not known, does not say so.
  @Test func aNotificationLostAfterItWasSentBreaksTheLink() {
    #expect(links(causes: 5, sent: 5, counted: 0, bottomHalves: 0).breaks == .notifications)
    #expect(links(causes: 5, counted: 5, bottomHalves: 0).breaks == .notifications)
    #expect(links(causes: 5, sent: 0, counted: 0, bottomHalves: 0).breaks == nil)
    #expect(links(causes: 5, counted: 0, bottomHalves: 0).breaks == nil)
    #expect(links(causes: 5, sent: 5, counted: 5, bottomHalves: 5).breaks == nil)
  }

  /// The console's links from a watch: its top halves, the sends made from within them (not the watchdog's), the
  /// bottom halves.
  @Test func theConsolesLinksAreReadFromAWatch() {
    let t = ContinuousClock.now
    let hits = [("console_itr_cb", 0), ("notif_send_async", 0), ("test_wd_callback", 1), ("notif_send_async", 1)]
      .map { WatchHit(name: $0.0, cpu: $0.1, at: t) }
    let links = NotificationLinks.console(in: hits, counted: -1)
    #expect(links.causes == 1 && links.sent == 1 && links.counted == 0 && links.bottomHalves == 0)
    #expect(links.firstBroken?.contains("Linux counted no notification interrupt") == true && links.breaks == .notifications)
  }

  @Test func partialLossesAreLeftToTheCountingChecks() {
    #expect(links(causes: 5, sent: 5, counted: 2, bottomHalves: 1).firstBroken == nil)
  }

  /// A top half's notifications are told from a callout's by what its CPU ran just before, whatever the watch's
  /// window cut off at either end.
  @Test func aCausesNotificationsAreThoseItsCPUSentRightAfterIt() {
    let t = ContinuousClock.now
    let hits = [
      ("notif_send_async", 1),  // the window began between a callout and its notification
      ("test_wd_callback", 0), ("notif_send_async", 0),
      ("console_itr_cb", 1), ("test_wd_callback", 0), ("notif_send_async", 1), ("notif_send_async", 0),
      ("console_itr_cb", 0), ("notif_send_async", 0),
      ("test_wd_callback", 1),  // and ended before this one's
    ].map { WatchHit(name: $0.0, cpu: $0.1, at: t) }
    #expect(NotificationLinks.sends(by: "console_itr_cb", in: hits) == 2)
    #expect(NotificationLinks.sends(by: "test_wd_callback", in: hits) == 2)
    #expect(NotificationLinks.sends(by: "console_itr_cb", in: []) == 0)
  }
}
