import Console
import Foundation
import HarnessSupport

/// The guest's end of a serial console, on a real unix socket: what the machine prints is written with `say`,
/// what the harness typed is read back with `typed`, and `hangUp` is QEMU exiting.
package final class FakeConsole: @unchecked Sendable {
  /// The harness's end, reading from the start.
  package let session: ConsoleSession
  private let peer: SocketConnection
  private let listener: UnixListener
  private let lock = NSLock()
  private var received: [UInt8] = []
  private var _alarms: [BadPatternWatcher.Alarm] = []

  /// A console named `name` watching `rules`; `context` stands for the tails of all consoles in messages.
  package init(name: String = "normal", rules: [BadPatternWatcher.Rule] = BadPatternWatcher.normalWorld,
    context: String = "--- both consoles' last lines") async throws
  {
    let path = ScratchFolder.path("console-\(UUID().uuidString.prefix(8)).sock").path
    listener = try UnixListener(path: path)
    let connection = try SocketConnection.connect(path: path)
    peer = try await listener.accept("fake console", deadline: .after(.seconds(5)))
    session = ConsoleSession(name: name, connection: connection, origin: .now, transcriptFile: nil, rules: rules)
    let chunks = peer.chunks
    Task { [self] in
      for await chunk in chunks { lock.withLock { received += chunk } }
    }
    await session.start(onAlarm: { [weak self] _, alarm in self?.lock.withLock { self?._alarms.append(alarm) } },
      context: { context })
  }

  /// Prints `text` on the console, as the guest would.
  package func say(_ text: String) throws { try peer.write(Array(text.utf8)) }

  /// What the harness typed so far.
  package var typed: String { lock.withLock { String(decoding: received, as: UTF8.self) } }

  /// The bad lines the session raised, in order.
  package var alarms: [BadPatternWatcher.Alarm] { lock.withLock { _alarms } }

  /// Closes the guest's end (QEMU exited).
  package func hangUp() { peer.close() }

  deinit {
    peer.close()
    listener.close()
  }
}
