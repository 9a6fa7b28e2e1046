import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What the host took from a test: for each of QEMU's threads, how long it waited, ready to run, for a host CPU
/// (Linux's run delay), and the longest stretch in which it was starved — found ready to run at every look, given
/// at most a fifth of a CPU between them, and the wait confirmed by Linux's own count once it ended — a guest CPU
/// the host held still, measured on the host instead of guessed from the guest. Pure: looks in, tally out.
package struct HostStarvation: Sendable, Equatable, CustomStringConvertible {
  /// One look at a thread.
  package struct Sample: Sendable, Equatable {
    package var name: String
    /// Seconds it ran on a CPU, and waited for one, since it started (`schedstat`'s first two fields).
    package var onCPU: Double
    package var waited: Double
    /// Running or ready to run (state `R`) at the look.
    package var runnable: Bool
    package init(name: String, onCPU: Double, waited: Double, runnable: Bool) {
      (self.name, self.onCPU, self.waited, self.runnable) = (name, onCPU, waited, runnable)
    }
  }

  /// One thread's tally.
  package struct Thread: Sendable, Equatable {
    package var name: String
    /// Seconds it waited for a CPU since the tally began (Linux counts a wait once it ends).
    package var waited = 0.0
    /// The longest starved stretch and when it began (seconds since the tally began).
    package var longest = 0.0
    package var longestFrom = 0.0
    /// The stretch going on at the last look: its length, start, and Linux's wait count at its start.
    var stretch = 0.0
    var stretchFrom = 0.0
    var stretchWaited = 0.0
    /// Its CPU time moved at some look: `schedstat` is live for it (a kernel without it prints zeros).
    var moved = false
    var last: Sample
    var lastAt: Double

    /// The longest stretch, the one going on counted when Linux cannot have confirmed it yet.
    var longestSoFar: (length: Double, from: Double) {
      stretch > longest && moved ? (stretch, stretchFrom) : (longest, longestFrom)
    }
  }

  /// Between two looks that find a thread ready to run, getting at most this share of a CPU is being starved.
  package static let share = 0.2
  /// A stretch counts once Linux's own count of the wait grew by this share of it (it adds a wait when it ends):
  /// a thread that slept between two looks that found it running has no such wait.
  package static let confirmed = 0.8

  package private(set) var threads: [Int32: Thread] = [:]

  package init() {}

  /// Adds the looks taken `at` seconds after the tally began; a thread's first look is its baseline.
  package mutating func add(_ looks: [Int32: Sample], at: Double) {
    for (id, look) in looks {
      guard var thread = threads[id], look.onCPU >= thread.last.onCPU, look.waited >= thread.last.waited else {
        // New, or its counts went back (the id now names another thread): a baseline.
        threads[id] = Thread(name: look.name, last: look, lastAt: at)
        continue
      }
      let interval = at - thread.lastAt
      guard interval > 0 else { continue }
      thread.waited += look.waited - thread.last.waited
      if look.onCPU > thread.last.onCPU { thread.moved = true }
      if thread.last.runnable && look.runnable && look.onCPU - thread.last.onCPU <= Self.share * interval {
        if thread.stretch == 0 { (thread.stretchFrom, thread.stretchWaited) = (thread.lastAt, thread.last.waited) }
        thread.stretch += interval
      } else if thread.stretch > 0 {
        // It ran again (or ran and slept): the wait just ended is in Linux's count now.
        if look.waited - thread.stretchWaited >= Self.confirmed * thread.stretch, thread.stretch > thread.longest {
          (thread.longest, thread.longestFrom) = (thread.stretch, thread.stretchFrom)
        }
        thread.stretch = 0
      }
      (thread.last, thread.lastAt) = (look, at)
      threads[id] = thread
    }
  }

  /// The thread starved longest in a row (nil when none was).
  package var worst: (name: String, length: Double, from: Double)? {
    threads.values.map { ($0.name, $0.longestSoFar.length, $0.longestSoFar.from) }.filter { $0.1 > 0 }
      .max { ($0.1, $1.0) < ($1.1, $0.0) }
  }

  /// A guest CPU starved at least `seconds` in a row: a latency that many seconds past its bound is the host's.
  package func explains(overshoot seconds: Double) -> Bool { (worst?.length ?? 0) >= max(seconds, 0) && worst != nil }

  /// The longest starvation, and each thread's total wait, longest first.
  package var description: String {
    guard !threads.isEmpty else { return "QEMU's threads could not be read (gone, or no /proc/PID/task/TID/schedstat on this host)" }
    let totals = threads.values.sorted { ($0.waited, $1.name) > ($1.waited, $0.name) }
      .map { "\($0.name) \($0.waited.formatted(decimals: 2)) s" }.joined(separator: ", ")
    let percent = Int((Self.share * 100).rounded())
    guard let worst else { return "no thread of QEMU was found ready to run yet held to \(percent) % of a host CPU or less; they waited for one: \(totals)" }
    return "\(worst.name) was found ready to run yet got \(percent) % of a host CPU or less for \(worst.length.formatted(decimals: 2)) s in a row, from \(worst.from.formatted(decimals: 2)) s into the test; QEMU's threads waited for one: \(totals)"
  }
}

/// Reads threads' CPU and run delay from `/proc`.
package enum SchedStat {
  /// (on-CPU, waiting) seconds from a `schedstat` line ("on-CPU ns, waiting ns, time slices"); nil when it is not one.
  package static func times(_ text: String) -> (onCPU: Double, waited: Double)? {
    let fields = text.split(whereSeparator: \.isWhitespace)
    guard fields.count >= 2, let on = UInt64(fields[0]), let waited = UInt64(fields[1]) else { return nil }
    return (Double(on) / 1e9, Double(waited) / 1e9)
  }

  /// Whether a `stat` line says running or ready to run: its state (after the name in parentheses, which may
  /// hold spaces and parentheses itself) is `R`.
  package static func runnable(_ stat: String) -> Bool? {
    guard let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].first { !$0.isWhitespace }.map { $0 == "R" }
  }

  /// The threads of process `pid` (empty when it is gone or `/proc` cannot be read).
  package static func threads(of pid: Int32) -> [Int32] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { Int32($0) }
  }

  /// A thread's name (`comm`), nil when it is gone.
  package static func name(of thread: Int32, in pid: Int32) -> String? {
    read("/proc/\(pid)/task/\(thread)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// A thread's look, nil when it is gone or `/proc` does not say.
  package static func look(at thread: Int32, in pid: Int32, name: String) -> HostStarvation.Sample? {
    guard let times = read("/proc/\(pid)/task/\(thread)/schedstat").flatMap(times),
      let runnable = read("/proc/\(pid)/task/\(thread)/stat").flatMap(runnable)
    else { return nil }
    return HostStarvation.Sample(name: name, onCPU: times.onCPU, waited: times.waited, runnable: runnable)
  }

  /// A small `/proc` file's text (nil when it cannot be read).
  static func read(_ path: String) -> String? {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var buffer = [UInt8](repeating: 0, count: 512)
    let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    return String(decoding: buffer.prefix(count), as: UTF8.self)
  }
}

/// Looks, every `period` while a test's body runs, at QEMU's threads that run the guest: its CPUs and its main loop
/// (named by `-name …,debug-threads=on`). `stop` ends the looking and gives the tally.
package actor StarvationWatch {
  private let qemu: Int32
  /// Each thread's name, nil for a thread that is none of those (read once).
  private var names: [Int32: String?] = [:]
  private var tally = HostStarvation()
  private var sampler: Task<Void, Never>?
  private let started = ContinuousClock.now

  private init(qemu: Int32) { self.qemu = qemu }

  deinit { sampler?.cancel() }

  /// Starts looking at QEMU `qemu`'s threads.
  package static func start(qemu: Int32, period: Duration = .milliseconds(100)) async -> StarvationWatch {
    let watch = StarvationWatch(qemu: qemu)
    await watch.begin(period)
    return watch
  }

  /// Who a thread of QEMU is: "QEMU's CPU 0" for "CPU 0/TCG" (or "ALL CPUs/TCG" with one thread for all), the main
  /// loop by its id; nil for the others (workers, RCU), which do not run the guest.
  static func name(thread: Int32, comm: String, qemu: Int32) -> String? {
    if thread == qemu { return "QEMU's main loop" }
    guard let slash = comm.lastIndex(of: "/"), comm[slash...] == "/TCG" || comm[slash...] == "/KVM" else { return nil }
    return "QEMU's \(comm[..<slash])"
  }

  private func begin(_ period: Duration) {
    look()
    sampler = Task { [weak self] in
      while true {
        do { try await Task.sleep(for: period) } catch { return }
        guard let self else { return }
        await self.look()
      }
    }
  }

  private func look() {
    var looks: [Int32: HostStarvation.Sample] = [:]
    for thread in SchedStat.threads(of: qemu) {
      if names[thread] == nil {
        names[thread] = .some(SchedStat.name(of: thread, in: qemu).flatMap { Self.name(thread: thread, comm: $0, qemu: qemu) })
      }
      guard let name = names[thread] ?? nil, let look = SchedStat.look(at: thread, in: qemu, name: name) else { continue }
      looks[thread] = look
    }
    tally.add(looks, at: (ContinuousClock.now - started).seconds)
  }

  /// Ends the looking (with a last look) and gives what was seen.
  package func stop() -> HostStarvation {
    sampler?.cancel()
    sampler = nil
    look()
    return tally
  }
}
