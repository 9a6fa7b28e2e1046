import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A child process (QEMU, a build's `make`, `apt-get`) that cannot outlive the harness, nor can anything it
/// starts. Started with `posix_spawn` in a process group of its own and reaped by a thread of its own.
///
/// It is started through a small `/bin/sh` guard: the shell keeps the read end of a pipe whose write end only
/// this process holds (close-on-exec, so no other child inherits it), starts a watcher that blocks reading it,
/// and then `exec`s the program under its own pid, the group's leader. If the harness dies in any way — a crash,
/// SIGKILL, a test runner killed — the pipe closes, the watcher's read fails and it kills the whole group (TERM,
/// then KILL: `make`'s compilers too). On an orderly end the harness writes a line first and the watcher leaves
/// quietly. Signals from the harness (`signal`, `terminate`) also reach the whole group.
package final class ChildProcess: @unchecked Sendable {
  package let argv: [String]
  package let pid: Int32
  private let guardWrite: Int32
  private let lock = NSLock()
  private var exitStatus: Int32?
  private var exitWaiters: [UUID: CheckedContinuation<Int32?, Never>] = [:]
  private var released = false

  static let guardScript = """
    cd "$1" || exit 127
    shift
    exec 3<&0 0</dev/null
    ( trap '' TERM INT; read -r _ <&3 || { kill -TERM -$$; sleep 3; kill -KILL -$$; } ) >/dev/null 2>&1 &
    exec 3<&- "$@"
    """

  /// Starts `argv` in `directory` with standard output and error written to `output` (appended when `append`),
  /// in the harness's environment or `environment`.
  /// - Throws: `HarnessError` when the program cannot be found or started.
  package init(_ argv: [String], in directory: URL, output: URL, append: Bool = false, environment: [String: String]? = nil) throws {
    // The guard's pipe may have lost its reader (a KILL of the group ends the watcher too): the last line to it
    // must fail with EPIPE, not kill the harness. Children start with every signal at its default again.
    _ = Self.ignorePipes
    let executable = try Command.locate(argv[0])
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw HarnessError("cannot create a pipe: \(String(cString: strerror(errno)))") }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    let out = open(output.path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
    guard out >= 0 else {
      Glibc.close(fds[0]); Glibc.close(fds[1])
      throw HarnessError("cannot write \(output.path): \(String(cString: strerror(errno)))")
    }
    defer { Glibc.close(out); Glibc.close(fds[0]) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
    posix_spawn_file_actions_adddup2(&actions, out, 1)
    posix_spawn_file_actions_adddup2(&actions, out, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // Its own process group: a Ctrl-C at the terminal reaches the harness, which then shuts QEMU down in order.
    // A clean signal mask and every signal's default action: the harness blocks the signals it handles, and a
    // child that inherited that mask would ignore the TERM of the teardown.
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    posix_spawnattr_setpgroup(&attributes, 0)
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigdefault(&attributes, &defaults)

    let arguments = ["/bin/sh", "-c", Self.guardScript, "teeharness-guard", directory.path, executable.path] + argv.dropFirst()
    let cArguments = arguments.map { strdup($0) } + [nil]
    defer { for p in cArguments { free(p) } }
    let cEnvironment = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
    defer { for p in cEnvironment ?? [] { free(p) } }
    var child: pid_t = 0
    let rc = cEnvironment.map { env in
      env.withUnsafeBufferPointer { posix_spawn(&child, "/bin/sh", &actions, &attributes, cArguments, UnsafeMutablePointer(mutating: $0.baseAddress)) }
    } ?? posix_spawn(&child, "/bin/sh", &actions, &attributes, cArguments, environ)
    guard rc == 0 else {
      Glibc.close(fds[1])
      throw HarnessError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
    }
    self.argv = argv
    self.pid = child
    self.guardWrite = fds[1]
    LiveProcesses.shared.add(child)
    let spawned = child
    let thread = Thread { [weak self] in
      let child = spawned
      var status: Int32 = 0
      while waitpid(child, &status, 0) < 0 && errno == EINTR {}
      let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
      self?.exited(code, pid: child)
      if self == nil { LiveProcesses.shared.remove(child) }
    }
    thread.name = "teeharness-wait-\(spawned)"
    thread.start()
  }

  private static let ignorePipes: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

  private func exited(_ status: Int32, pid: Int32) {
    lock.lock()
    exitStatus = status
    let waiters = exitWaiters.values
    exitWaiters = [:]
    lock.unlock()
    LiveProcesses.shared.remove(pid)
    releaseGuard()
    for w in waiters { w.resume(returning: status) }
  }

  /// The exit status once the process has ended (signals as 128 + n, as a shell reports them).
  package var status: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return exitStatus
  }

  package var isRunning: Bool { status == nil }

  /// Waits for the process to end, at most until `deadline`; returns its status, or nil if it still runs.
  /// Each caller's deadline is its own: one waiter giving up never releases another.
  package func wait(until deadline: Deadline) async -> Int32? {
    if let status { return status }
    let id = UUID()
    let timer = Task { [weak self] in
      do { try await Task.sleep(until: deadline.instant, clock: .continuous) } catch { return }
      self?.giveUp(id)
    }
    defer { timer.cancel() }
    return await withCheckedContinuation { (c: CheckedContinuation<Int32?, Never>) in
      lock.lock()
      if let s = exitStatus {
        lock.unlock()
        c.resume(returning: s)
      } else if deadline.hasPassed {
        // The timer may already have fired, before this waiter was listed.
        lock.unlock()
        c.resume(returning: nil)
      } else {
        exitWaiters[id] = c
        lock.unlock()
      }
    }
  }

  private func giveUp(_ id: UUID) {
    lock.lock()
    let waiter = exitWaiters.removeValue(forKey: id)
    lock.unlock()
    waiter?.resume(returning: nil)
  }

  /// Sends `signal` to the process and everything it started (its process group).
  package func signal(_ signal: Int32) {
    if isRunning { kill(-pid, signal) }
  }

  /// Ends the process: SIGTERM, then SIGKILL if it is still there after `grace`.
  package func terminate(grace: Duration = .seconds(3)) async {
    guard isRunning else { return }
    signal(SIGTERM)
    if await wait(until: .after(grace)) != nil { return }
    signal(SIGKILL)
    _ = await wait(until: .after(.seconds(5)))
  }

  /// Tells the guard's watcher the end is orderly (it exits without killing anything).
  private func releaseGuard() {
    lock.lock()
    defer { lock.unlock() }
    guard !released else { return }
    released = true
    _ = "done\n".withCString { Glibc.write(guardWrite, $0, 5) }
    Glibc.close(guardWrite)
  }

  deinit {
    if isRunning { kill(-pid, SIGKILL) }
    releaseGuard()
  }
}

/// The pids of every live `ChildProcess`, so a signal handler can end them all before the harness exits.
package final class LiveProcesses: @unchecked Sendable {
  package static let shared = LiveProcesses()
  private let lock = NSLock()
  private var pids: Set<Int32> = []

  func add(_ pid: Int32) {
    lock.lock()
    pids.insert(pid)
    lock.unlock()
  }

  func remove(_ pid: Int32) {
    lock.lock()
    pids.remove(pid)
    lock.unlock()
  }

  package var all: Set<Int32> {
    lock.lock()
    defer { lock.unlock() }
    return pids
  }

  /// SIGKILLs every live child (the last resort of a signal handler).
  package func killAll() {
    for pid in all { kill(-pid, SIGKILL) }
  }
}
