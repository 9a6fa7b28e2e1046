import GDBRemote
import Guest
import Suites
import Testing

/// A notification followed function by function, on each transport: the first link it did not get past is named.
@Suite struct NotificationRouteTests {
  let t0 = ContinuousClock.now
  func hits(_ list: [(String, Int, UInt64?)]) -> [WatchHit] {
    list.enumerated().map { k, hit in WatchHit(name: hit.0, cpu: hit.1, at: t0 + .milliseconds(k), argument: hit.2) }
  }
  let ffa = NotificationRoute(transport: .ffa, intid: 8)
  let smc = NotificationRoute(transport: .smc, intid: 219)
  func broken(_ route: NotificationRoute, _ list: [(String, Int, UInt64?)]) -> String? {
    route.firstBroken(route.traces(of: "console_itr_cb", bottomHalf: "yielding_console_notif", in: hits(list)),
      cause: "the console's top half", bottomHalf: "yielding_console_notif")
  }

  @Test func eachTransportWatchesItsOwnRoute() {
    #expect(ffa.symbols == ["notif_send_async", "gic_op_raise_sgi", "handle_notification_info_get", "handle_notification_get"])
    #expect(smc.symbols == ["notif_send_async", "gic_op_raise_pi", "get_async_notif_value"])
    #expect(ffa.reading == ["gic_op_raise_sgi": "x1"])
  }

  @Test func aWholeRouteHasNoBrokenLinkAndItsSteps() {
    let list: [(String, Int, UInt64?)] = [
      ("console_itr_cb", 1, nil), ("test_wd_callback", 0, nil), ("notif_send_async", 1, nil), ("gic_op_raise_sgi", 1, 8),
      ("console_itr_cb", 1, nil), ("notif_send_async", 1, nil), ("gic_op_raise_sgi", 1, 8),
      ("handle_notification_info_get", 0, nil), ("handle_notification_get", 1, nil), ("yielding_console_notif", 0, nil),
    ]
    #expect(broken(ffa, list) == nil)
    let traces = ffa.traces(of: "console_itr_cb", bottomHalf: "yielding_console_notif", in: hits(list))
    // Both share one fetch and one bottom half.
    #expect(traces.count == 2 && traces.allSatisfy { $0.bottomHalf == t0 + .milliseconds(9) })
    #expect(ffa.steps(of: traces[0]).map(\.name) == ["cause → notif_send_async", "notif_send_async → SGI 8 raised",
      "SGI 8 raised → FFA_NOTIFICATION_INFO_GET", "FFA_NOTIFICATION_INFO_GET → FFA_NOTIFICATION_GET", "FFA_NOTIFICATION_GET → bottom half"])
    #expect(ffa.steps(of: traces[0])[0].seconds == 0.002)
  }

  @Test func theFirstLinkNotPassedIsNamed() {
    let notSent = broken(smc, [("console_itr_cb", 0, nil), ("test_wd_callback", 0, nil), ("notif_send_async", 0, nil)])
    #expect(notSent?.contains("sent its notification (notif_send_async) only 0 times") == true, "\(notSent ?? "nil")")
    let notRaised = broken(smc, [("console_itr_cb", 0, nil), ("notif_send_async", 0, nil), ("get_async_notif_value", 1, nil)])
    #expect(notRaised?.contains("raised the notification interrupt (gic_op_raise_pi) for only 0") == true)
    let wrong = broken(smc, [("console_itr_cb", 0, nil), ("notif_send_async", 0, nil), ("gic_op_raise_pi", 0, 220),
      ("get_async_notif_value", 1, nil), ("yielding_console_notif", 1, nil)])
    #expect(wrong?.contains("raised INTID 220 for its notifications, not the notification interrupt SPI 219") == true)
    let notFetched = broken(smc, [("get_async_notif_value", 1, nil), ("console_itr_cb", 0, nil), ("notif_send_async", 0, nil),
      ("gic_op_raise_pi", 0, 219)])
    #expect(notFetched == "OP-TEE raised SPI 219 once (gic_op_raise_pi), but Linux's OP-TEE driver did not fetch 1 of them (OPTEE_SMC_GET_ASYNC_NOTIF_VALUE: get_async_notif_value did not run after it): the interrupt does not reach Linux's OP-TEE driver")
    let askedOnly = broken(ffa, [("console_itr_cb", 0, nil), ("notif_send_async", 0, nil), ("gic_op_raise_sgi", 0, 8),
      ("handle_notification_info_get", 0, nil), ("yielding_console_notif", 1, nil)])
    #expect(askedOnly == "OP-TEE raised SGI 8 once (gic_op_raise_sgi) and Linux's FF-A driver asked which were pending (FFA_NOTIFICATION_INFO_GET), but Linux's FF-A driver did not fetch 1 of them (FFA_NOTIFICATION_GET: handle_notification_get did not run after it): the pending notifications were not listed to Linux, or Linux did not act on the list")
    #expect(askedOnly?.contains("bottom half") == false)
    let noBottom = broken(ffa, [("console_itr_cb", 0, nil), ("notif_send_async", 0, nil), ("gic_op_raise_sgi", 0, 8),
      ("handle_notification_info_get", 0, nil), ("handle_notification_get", 0, nil)])
    #expect(noBottom?.hasSuffix("asked which were pending (FFA_NOTIFICATION_INFO_GET), then fetched them (FFA_NOTIFICATION_GET), but no bottom half (yielding_console_notif) ran after 1 of them: the bottom half is not requested or not delivered") == true, "\(noBottom ?? "nil")")
  }

  /// Only a notification sent and then lost breaks the link every cause needs; one never sent is the cause's own.
  @Test func aRouteBrokenAfterTheSendBreaksTheNotificationsLink() {
    func link(_ list: [(String, Int, UInt64?)]) -> StackLink? {
      smc.breaks(smc.traces(of: "console_itr_cb", bottomHalf: "yielding_console_notif", in: hits(list)), cause: "c", bottomHalf: "yielding_console_notif")
    }
    #expect(link([("console_itr_cb", 0, nil), ("notif_send_async", 0, nil)]) == .notifications)
    #expect(link([("console_itr_cb", 0, nil), ("test_wd_callback", 0, nil), ("notif_send_async", 0, nil)]) == nil)
    #expect(link([("console_itr_cb", 0, nil), ("notif_send_async", 0, nil), ("gic_op_raise_pi", 0, 219),
      ("get_async_notif_value", 1, nil), ("yielding_console_notif", 1, nil)]) == nil)
  }

  /// A send on another CPU is not this cause's; nor is one after the CPU ran something else first.
  @Test func aCausesNotificationIsTheOneItsCPUSendsFromWithinIt() {
    let list: [(String, Int, UInt64?)] = [("console_itr_cb", 0, nil), ("notif_send_async", 1, nil), ("gic_op_raise_sgi", 1, 8),
      ("test_wd_callback", 0, nil), ("notif_send_async", 0, nil)]
    #expect(ffa.traces(of: "console_itr_cb", bottomHalf: "b", in: hits(list)).first?.sent == nil)
  }
}
