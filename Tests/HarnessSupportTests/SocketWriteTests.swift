import Foundation
import Testing

@testable import HarnessSupport

@Suite struct SocketWriteTests {
  /// A peer that stops reading (a hung console client, a stuck stub) fills the socket: the write ends at its
  /// deadline with an error naming the connection, instead of blocking forever.
  @Test func aPeerThatStopsReadingEndsTheWriteAtItsDeadline() async throws {
    // A raw pair: nothing ever reads the far end.
    var fds: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    let writer = SocketConnection(fd: fds[0], name: "qemu console")
    defer { writer.close(); close(fds[1]) }
    let started = ContinuousClock.now
    #expect {
      try writer.write([UInt8](repeating: 0x41, count: 64 << 20), deadline: .after(.milliseconds(300)))
    } throws: { error in
      (error as? DeadlineExceeded)?.description.contains("the qemu console connection: the peer stopped reading") == true
    }
    #expect(ContinuousClock.now - started < .seconds(5))
  }
}
