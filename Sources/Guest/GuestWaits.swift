import Foundation
import HarnessSupport
import Suites

extension TestContext {
  /// Waits until guest process `pid` is gone; returns how long that took (seconds), nil if it outlived `within`.
  package func waitGone(_ pid: Int, within: Duration) async throws -> Double? {
    try await waitUntil("[ ! -d /proc/\(pid) ]", within: within)
  }

  /// Polls the guest shell condition `condition` until it holds; returns how long that took (seconds), nil if it
  /// still did not hold after `within` (the guest loop keeps its own deadline, so the shell stays usable).
  package func waitUntil(_ condition: String, within: Duration) async throws -> Double? {
    let started = ContinuousClock.now
    let limit = Int(within.seconds.rounded(.up)) + 1
    let waited = try await run(Self.until(condition, seconds: limit), timeout: within + .seconds(15))
    return waited.status == 0 ? (ContinuousClock.now - started).seconds : nil
  }

  /// A guest shell loop that ends (status 0) once `condition` holds, or with status 1 after `seconds` of the guest's
  /// clock, looking every `pause`. The clock is read by the shell itself (`read`), so a look starts only `sleep` and
  /// what `condition` runs: on an emulated CPU every program started costs milliseconds that another machine could use.
  /// (`read -t` on a FIFO would wait without `sleep`, but busybox's ash ended such loops with SIGALRM now and then.)
  static func until(_ condition: String, seconds: Int, pause: String = "0.02") -> String {
    "read up _ < /proc/uptime; end=$((${up%.*} + \(seconds))); until \(condition); do "
      + "read up _ < /proc/uptime; [ ${up%.*} -ge $end ] && exit 1; sleep \(pause); done"
  }

  /// Looks at what only the host can see (console lines, parsed tool output) until `condition` holds or `within`
  /// passes, letting the guest's clock run 0.1 s between looks; returns whether it held. Looks at least once.
  package func poll(within: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Deadline.after(within)
    while try await !condition() {
      if deadline.hasPassed { return false }
      _ = try await run("sleep 0.1")
    }
    return true
  }

  /// The kernel functions the threads of guest process `pid` sleep in (`/proc/PID/task/*/wchan`).
  package func sleepingIn(_ pid: Int) async throws -> [String] {
    try await run("for f in /proc/\(pid)/task/*/wchan; do cat $f 2>/dev/null; echo; done").lines.filter { !$0.isEmpty }
  }

  /// Tasks in uninterruptible sleep (state D), each as `pid name wchan`.
  package func tasksInDState() async throws -> [String] {
    // One cat and one awk over every task (a shell loop forking a cat per task took 1.5 s of guest CPU).
    try await run("cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == \"D\" { print $1, $2 }' | "
      + "while read p n; do echo \"$p $n $(cat /proc/$p/wchan 2>/dev/null)\"; done").lines
  }

  /// Kernel log lines that report a problem (warnings, bugs, oopses, hung tasks), oldest first.
  package func kernelProblems() async throws -> [String] {
    // Bracketed letters keep the typed command itself (echoed on the console) clear of the bad-pattern rules.
    try await run("dmesg | grep -E 'WARNING:|B[U]G:|O[o]ps|cut here|blocked for more than|use-after-free'").lines
  }
}
