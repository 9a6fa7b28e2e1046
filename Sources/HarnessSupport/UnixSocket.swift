import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A listening unix-domain stream socket. The harness listens; QEMU connects to it as a client, so every byte
/// QEMU ever writes has a reader.
package final class UnixListener: Sendable {
  package let path: String
  private let fd: Int32

  /// The longest path a unix socket address holds (`sun_path` less its NUL).
  package static let maximumPathLength = 107

  /// Binds and listens at `path` (mode 0600).
  /// - Throws: `HarnessError` when the path is too long or the socket cannot be made.
  package init(path: String) throws {
    guard path.utf8.count <= Self.maximumPathLength else {
      throw HarnessError("socket path too long (\(path.utf8.count) bytes, the limit is \(Self.maximumPathLength)): \(path)",
        fix: "use a shorter run folder (TMPDIR or --out)")
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("cannot create a unix socket: \(String(cString: strerror(errno)))") }
    unlink(path)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      let bytes = Array(path.utf8)
      raw.copyBytes(from: bytes)
      raw[bytes.count] = 0
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0, chmod(path, 0o600) == 0, listen(fd, 4) == 0 else {
      let message = String(cString: strerror(errno))
      _ = Glibc.close(fd)
      throw HarnessError("cannot listen on \(path): \(message)")
    }
    self.fd = fd
    self.path = path
  }

  /// Waits for one connection.
  /// - Throws: `DeadlineExceeded` when nobody connects in time; `CancellationError` when cancelled.
  package func accept(_ what: String, deadline: Deadline) async throws -> SocketConnection {
    let started = ContinuousClock.now
    while true {
      try Task.checkCancellation()
      let slice = min(max(deadline.remaining.seconds, 0), 0.2)
      let fd = self.fd
      let ready = await Task.detached {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, Int32(slice * 1000))
      }.value
      if ready > 0 {
        let client = Glibc.accept(fd, nil, nil)
        if client >= 0 {
          _ = fcntl(client, F_SETFD, FD_CLOEXEC)
          return SocketConnection(fd: client, name: what)
        }
      }
      if deadline.hasPassed { throw DeadlineExceeded("waiting for QEMU to connect \(what)", after: .now - started) }
    }
  }

  package func close() {
    _ = Glibc.close(fd)
    unlink(path)
  }
}

/// What the reader thread took off the socket, stamped with when it arrived.
package struct Arrival: Sendable {
  package var time: ContinuousClock.Instant
  package var bytes: [UInt8]
}

/// One connection: a dedicated reader thread takes everything that arrives off the socket at once (so the peer
/// never blocks on us) and stamps it with its arrival time; the consumer takes whatever has piled up in one go
/// (`batches`), however many small writes the peer made — a UART emulation writes byte by byte.
package final class SocketConnection: @unchecked Sendable {
  package let name: String
  /// Wakes the consumer; each element is every arrival since the last one. Finishes when the peer closes
  /// or `close()` is called.
  package let batches: AsyncStream<[Arrival]>
  private let fd: Int32
  private let lock = NSLock()
  private var closed = false
  private var pending: [Arrival] = []
  private let wake: AsyncStream<[Arrival]>.Continuation

  init(fd: Int32, name: String) {
    self.fd = fd
    self.name = name
    let (stream, continuation) = AsyncStream<[Arrival]>.makeStream(bufferingPolicy: .unbounded)
    batches = stream
    wake = continuation
    let thread = Thread { [self] in self.readLoop() }
    thread.name = "teeharness-\(name)"
    thread.start()
  }

  private func readLoop() {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      let arrival = Arrival(time: .now, bytes: Array(buffer[0..<n]))
      lock.lock()
      let wasEmpty = pending.isEmpty
      pending.append(arrival)
      lock.unlock()
      // One wake-up per batch: the consumer drains everything pending when it runs.
      if wasEmpty { wake.yield([]) }
    }
    wake.finish()
  }

  /// Everything that arrived and was not taken yet.
  package func drain() -> [Arrival] {
    lock.lock()
    defer { lock.unlock() }
    let taken = pending
    pending = []
    return taken
  }

  private var bytesStream: AsyncStream<[UInt8]>?

  /// Every byte as it arrives, for consumers that need no timing (QMP, RSP). One stream per connection, made
  /// on first use; a connection is read either through `chunks` or through `batches`, not both.
  package var chunks: AsyncStream<[UInt8]> {
    lock.lock()
    defer { lock.unlock() }
    if let bytesStream { return bytesStream }
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
    let batches = self.batches
    Task {
      for await _ in batches {
        let bytes = self.drain().flatMap(\.bytes)
        if !bytes.isEmpty { continuation.yield(bytes) }
      }
      let rest = self.drain().flatMap(\.bytes)
      if !rest.isEmpty { continuation.yield(rest) }
      continuation.finish()
    }
    bytesStream = stream
    return stream
  }

  /// Connects to a listening unix socket (the client side: test peers, tools).
  /// - Throws: `HarnessError` when nothing listens there.
  package static func connect(path: String) throws -> SocketConnection {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("cannot create a unix socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      let bytes = Array(path.utf8.prefix(UnixListener.maximumPathLength))
      raw.copyBytes(from: bytes)
      raw[bytes.count] = 0
    }
    let rc = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else {
      let message = String(cString: strerror(errno))
      _ = Glibc.close(fd)
      throw HarnessError("cannot connect to \(path): \(message)")
    }
    return SocketConnection(fd: fd, name: path)
  }

  /// Writes all of `bytes`, waiting for room in the socket no later than `deadline`.
  /// - Throws: `HarnessError` when the peer is gone; `DeadlineExceeded` naming the connection when the peer
  ///   stopped reading (the socket stayed full until the deadline).
  package func write(_ bytes: [UInt8], deadline: Deadline = .after(.seconds(10))) throws {
    let started = ContinuousClock.now
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
      if n < 0 && errno == EINTR { continue }
      if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
        let milliseconds = Int32(clamping: Int64(max(0, deadline.remaining.seconds * 1000)))
        guard milliseconds > 0 else {
          throw DeadlineExceeded("the \(name) connection: the peer stopped reading (\(bytes.count - offset) bytes unsent)", after: .now - started)
        }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&entry, 1, min(milliseconds, 100))
        continue
      }
      guard n > 0 else { throw HarnessError("the \(name) connection is closed: \(String(cString: strerror(errno)))") }
      offset += n
    }
  }

  /// Shuts the connection down; the reader thread then finishes `batches` and `chunks`.
  package func close() {
    lock.lock()
    defer { lock.unlock() }
    guard !closed else { return }
    closed = true
    shutdown(fd, Int32(SHUT_RDWR))
  }

  // The descriptor is released only here, when nothing can use it any more: closed earlier, its number could
  // be reused by another connection that a late `close()` or `write` would then reach.
  deinit { Glibc.close(fd) }
}
