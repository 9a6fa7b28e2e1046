import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What the host took from a test: for each of QEMU's threads that run the guest, how long it waited, ready to run,
/// for a host CPU (Linux's run delay), and the stretches in which it was starved — found ready to run at every
/// look, given at most a fifth of a CPU between them, and either confirmed by Linux's own count of the wait once it
/// ended or, still going on at the last look, never given a CPU at all. Times are on the machine's clock (the
/// consoles' transcript times). Pure: looks in, tally out.
package struct HostStarvation: Sendable, Equatable, CustomStringConvertible {
  /// One look at a thread.
  package struct Sample: Sendable, Equatable {
    package var name: String
    /// Seconds it ran on a CPU, and waited for one, since it started, and how many times it got one (`schedstat`).
    package var onCPU: Double
    package var waited: Double
    package var slices: UInt64
    /// Running or ready to run (state `R`) at the look.
    package var runnable: Bool
    package init(name: String, onCPU: Double, waited: Double, slices: UInt64 = 1, runnable: Bool) {
      (self.name, self.onCPU, self.waited, self.slices, self.runnable) = (name, onCPU, waited, slices, runnable)
    }
  }

  /// A time in which a thread was starved, on the machine's clock.
  package struct Stretch: Sendable, Equatable {
    package var thread: String
    package var from: Double
    package var to: Double
    package var length: Double { to - from }
    /// How much of `window` it covers.
    package func overlap(_ window: ClosedRange<Double>) -> Double { max(0, min(to, window.upperBound) - max(from, window.lowerBound)) }
  }

  /// Something that came late: between `window` (on the machine's clock, e.g. a byte's keystroke and its read) it
  /// took `overshoot` seconds more than its bound.
  package struct Late: Sendable, Equatable {
    package var window: ClosedRange<Double>
    package var overshoot: Double
    package init(window: ClosedRange<Double>, overshoot: Double) { (self.window, self.overshoot) = (window, overshoot) }
  }

  /// One thread's tally.
  struct Thread: Sendable, Equatable {
    var name: String
    /// Seconds it waited for a CPU since the tally began (Linux counts a wait once it ends).
    var waited = 0.0
    var stretches: [Stretch] = []
    /// The stretch going on at the last look: its start, Linux's wait and CPU-grant counts at its start.
    var open: Open?
    var last: Sample
    var lastAt: Double
  }

  struct Open: Sendable, Equatable {
    var from: Double
    var waited: Double
    var slices: UInt64
  }

  /// Between two looks that find a thread ready to run, getting at most this share of a CPU is being starved.
  package static let share = 0.2
  /// A stretch that ended counts once Linux's own count of the wait grew by this share of it (Linux adds a wait
  /// when it ends; a thread that slept between two looks that found it running has none).
  package static let confirmed = 0.8

  private(set) var threads: [Int32: Thread] = [:]
  /// The last look's time.
  private(set) var lastLook: Double?

  package init() {}

  /// Adds the looks taken `at` (the machine's clock); a thread's first look is its baseline.
  package mutating func add(_ looks: [Int32: Sample], at: Double) {
    lastLook = at
    for (id, look) in looks {
      guard var thread = threads[id] else {
        threads[id] = Thread(name: look.name, last: look, lastAt: at)
        continue
      }
      guard look.onCPU >= thread.last.onCPU, look.waited >= thread.last.waited, look.slices >= thread.last.slices else {
        // Its counts went back (the id names another thread now): a new baseline, what was found kept.
        (thread.last, thread.lastAt, thread.open) = (look, at, nil)
        threads[id] = thread
        continue
      }
      let interval = at - thread.lastAt
      guard interval > 0 else { continue }
      thread.waited += look.waited - thread.last.waited
      if thread.last.runnable && look.runnable && look.onCPU - thread.last.onCPU <= Self.share * interval {
        if thread.open == nil { thread.open = Open(from: thread.lastAt, waited: thread.last.waited, slices: thread.last.slices) }
      } else if let open = thread.open {
        // It ran again (or ran and slept): the wait just ended is in Linux's count now.
        let length = thread.lastAt - open.from
        if look.waited - open.waited >= Self.confirmed * length {
          thread.stretches.append(Stretch(thread: thread.name, from: open.from, to: thread.lastAt))
        }
        thread.open = nil
      }
      (thread.last, thread.lastAt) = (look, at)
      threads[id] = thread
    }
  }

  /// The stretches found: those that ended and were confirmed, and one still going on at the last look in which
  /// the thread was never given a CPU (it cannot have slept).
  package var stretches: [Stretch] {
    threads.values.flatMap { thread -> [Stretch] in
      guard let open = thread.open, thread.lastAt == lastLook, thread.last.slices == open.slices, thread.lastAt > open.from else {
        return thread.stretches
      }
      return thread.stretches + [Stretch(thread: thread.name, from: open.from, to: thread.lastAt)]
    }
  }

  /// The longest stretch (nil when there is none).
  package var longest: Stretch? { stretches.max { ($0.length, $1.thread) < ($1.length, $0.thread) } }

  /// Whether the host alone explains `late`: every late thing's window is covered, by one thread's stretches, for
  /// at least its overshoot. Nothing late explains nothing.
  package func explains(_ late: [Late]) -> Bool {
    let found = stretches
    return !late.isEmpty && late.allSatisfy { (Self.cover(of: $0, by: found)?.seconds ?? 0) >= $0.overshoot }
  }

  /// The thread whose stretches cover most of `item`'s window, and how much (nil when no thread was starved).
  static func cover(of item: Late, by found: [Stretch]) -> (thread: String, seconds: Double)? {
    Dictionary(grouping: found, by: \.thread).map { ($0.key, $0.value.reduce(0) { $0 + $1.overlap(item.window) }) }
      .max { ($0.1, $1.0) < ($1.1, $0.0) }
  }

  /// Each thread's total wait, longest first.
  var totals: String {
    threads.values.sorted { ($0.waited, $1.name) > ($1.waited, $0.name) }
      .map { "\($0.name) \($0.waited.formatted(decimals: 2)) s" }.joined(separator: ", ")
  }

  /// The longest starvation, and each thread's total wait.
  package var description: String {
    guard !threads.isEmpty else { return "QEMU's threads could not be read (gone, or no /proc/PID/task/TID/schedstat on this host)" }
    let percent = Int((Self.share * 100).rounded())
    guard let longest else { return "no thread of QEMU was found starved (ready to run, given \(percent) % of a host CPU or less); they waited for one: \(totals)" }
    return "\(longest.thread) was found ready to run yet given \(percent) % of a host CPU or less for \(longest.length.formatted(decimals: 2)) s (\(longest.from.formatted(decimals: 2))–\(longest.to.formatted(decimals: 2)) s of the machine's clock); QEMU's threads waited for one: \(totals)"
  }

  /// How the stretches cover `late`, for a message: "read at 15.13–16.02 s, 0.37 s past its bound: QEMU's CPU 0
  /// starved 0.91 s of it".
  package func coverage(of late: [Late]) -> String {
    let found = stretches
    return late.map { item in
      let best = Self.cover(of: item, by: found)
      return "\(item.window.lowerBound.formatted(decimals: 2))–\(item.window.upperBound.formatted(decimals: 2)) s, \(item.overshoot.formatted(decimals: 2)) s past its bound: \(best.map { "\($0.thread) starved \($0.seconds.formatted(decimals: 2)) s of it" } ?? "no thread starved in it")"
    }.joined(separator: "; ")
  }
}

/// Reads threads' CPU and run delay from `/proc`.
package enum SchedStat {
  /// (on-CPU s, waiting s, CPU grants) from a `schedstat` line ("on-CPU ns, waiting ns, time slices"); nil when it
  /// is not one.
  package static func times(_ text: String) -> (onCPU: Double, waited: Double, slices: UInt64)? {
    let fields = text.split(whereSeparator: \.isWhitespace)
    guard fields.count >= 3, let on = UInt64(fields[0]), let waited = UInt64(fields[1]), let slices = UInt64(fields[2]) else { return nil }
    return (Double(on) / 1e9, Double(waited) / 1e9, slices)
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
    return HostStarvation.Sample(name: name, onCPU: times.onCPU, waited: times.waited, slices: times.slices, runnable: runnable)
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
  private let origin: ContinuousClock.Instant
  private let period: Duration
  /// Each thread's name, nil for a thread that is none of those (read once).
  private var names: [Int32: String?] = [:]
  private var tally = HostStarvation()
  private var sampler: Task<Void, Never>?
  private var lastLook = ContinuousClock.now

  private init(qemu: Int32, origin: ContinuousClock.Instant, period: Duration) {
    (self.qemu, self.origin, self.period) = (qemu, origin, period)
  }

  deinit { sampler?.cancel() }

  /// Starts looking at QEMU `qemu`'s threads; times count from `origin` (the machine's launch).
  package static func start(qemu: Int32, origin: ContinuousClock.Instant, period: Duration = .milliseconds(100)) async
    -> StarvationWatch
  {
    let watch = StarvationWatch(qemu: qemu, origin: origin, period: period)
    await watch.begin()
    return watch
  }

  /// Who a thread of QEMU is: "QEMU's CPU 0" for "CPU 0/TCG" (or "ALL CPUs/TCG" with one thread for all), the main
  /// loop by its id; nil for the others (workers, RCU), which do not run the guest.
  static func name(thread: Int32, comm: String, qemu: Int32) -> String? {
    if thread == qemu { return "QEMU's main loop" }
    guard let slash = comm.lastIndex(of: "/"), comm[slash...] == "/TCG" || comm[slash...] == "/KVM" else { return nil }
    return "QEMU's \(comm[..<slash])"
  }

  private func begin() {
    look()
    sampler = Task { [weak self, period] in
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
    lastLook = .now
    tally.add(looks, at: (lastLook - origin).seconds)
  }

  /// Ends the looking and gives what was seen: a last look unless the one before was less than half a period ago
  /// (a running thread's CPU time is brought up to date at each tick, too coarse for a few milliseconds).
  package func stop() -> HostStarvation {
    sampler?.cancel()
    sampler = nil
    if ContinuousClock.now - lastLook >= period / 2 { look() }
    return tally
  }
}
