import Foundation
import Guest
import Console
import Machine
import Reporting
import Suites

/// The stack comes up: both worlds, in order, within budget, and Linux sees OP-TEE.
package let bootSuite = Suite("boot", "every milestone in order and on time; OP-TEE visible to Linux") {
  Test("every milestone is reached in order within its budget") { t in
    let milestones = await t.machine.milestones
    let reached = milestones.filter { $0.reachedAt != nil }
    t.measure(Measured("boot milestones", unit: "s", samples: reached.compactMap(\.reachedAt), labels: reached.map(\.name)))
    for m in milestones {
      try t.require(m.reachedAt != nil, "milestone '\(m.name)' was not reached")
      let at = m.reachedAt!
      t.note("\(m.name): \(at.formatted(decimals: 2)) s (budget \(m.budget.formatted(decimals: 0)) s)")
      t.check(at <= m.budget, "'\(m.name)' reached at \(at.formatted(decimals: 2)) s, over its budget of \(m.budget) s")
    }
    let time = Dictionary(uniqueKeysWithValues: milestones.map { ($0.name, $0.reachedAt ?? .infinity) })
    let order = ["TF-A started", "U-Boot started", "Linux booting", "OP-TEE driver probed", "tee-supplicant running", "shell ready"]
    for (a, b) in zip(order, order.dropFirst()) {
      t.check(time[a]! <= time[b]!, "'\(a)' came after '\(b)'")
    }
    try t.require(time["secure world up"]! < time["U-Boot started"]! + 5 && time["secure world up"]! < time["Linux booting"]!,
      "the secure world must be up before Linux boots")
  }

  Test("OP-TEE reports the version that was built, and Linux agrees") { t in
    let secure = await t.secure.lines()
    let banner = secure.compactMap { Pattern.regex(#"OP-TEE version: (\S+)"#).firstMatch(in: $0.text)?.groups[1] }.first
    try t.require(banner != nil, "the secure console shows no `OP-TEE version:` banner")
    // What was built: the revision in the build's conf.mk, else the Debian source's version from the lock; for a
    // stack that says neither (prebuilt, no conf.mk), only the banner's own revision, which Linux must agree with.
    let built: String?
    if let major = t.facts.opteeInteger("CFG_OPTEE_REVISION_MAJOR"), let minor = t.facts.opteeInteger("CFG_OPTEE_REVISION_MINOR") {
      built = "\(major).\(minor)"
    } else if let locked = t.facts.lockedVersion(of: "optee-os") {
      let upstream = locked.split(separator: "-").first.map(String.init) ?? locked
      built = upstream.split(separator: ".").prefix(2).joined(separator: ".")
    } else {
      built = nil
    }
    let shown = Pattern.regex(#"(\d+\.\d+)(?!.*\d+\.\d+)"#).firstMatch(in: banner!)?.groups[1]
    try t.require(shown != nil, "the secure console's banner `OP-TEE version: \(banner!)` carries no revision")
    let majorMinor = built ?? shown!
    t.note("OP-TEE version on the secure console: \(banner!) (built: \(built.map { "revision \($0)" } ?? "unknown, no conf.mk"))")
    // The revision as a whole number pair: 4.1 is not 4.10.
    let exact = Pattern.regex("(?<![0-9.])" + NSRegularExpression.escapedPattern(for: majorMinor) + "(?![0-9])")
    try t.require(exact.firstMatch(in: banner!) != nil, "the secure console says OP-TEE \(banner!), the stack was built from revision \(majorMinor)")
    let revision = try await t.run("dmesg | grep 'optee: revision'")
    try t.require(revision.status == 0 && revision.output.contains("revision \(majorMinor)"),
      "Linux's driver should report revision \(majorMinor)", details: revision.output)
    if let threads = t.facts.opteeThreads {
      t.note("OP-TEE threads: \(threads) (the build's CFG_NUM_THREADS)")
    } else {
      try t.require(!t.facts.opteeConfigKnown, "the build's conf.mk has no CFG_NUM_THREADS")
      t.note("OP-TEE threads: unknown (\(t.facts.unknown("CFG_NUM_THREADS")))")
    }
  }

  Test("the TEE devices exist and tee-supplicant serves them") { t in
    let devices = try await t.run("test -c /dev/tee0 && test -c /dev/teepriv0 && ls -l /dev/tee0 /dev/teepriv0")
    try t.require(devices.status == 0, "/dev/tee0 and /dev/teepriv0 must be character devices", details: devices.output)
    let supplicant = try await t.run("pidof tee-supplicant")
    try t.require(supplicant.status == 0 && !supplicant.output.isEmpty, "tee-supplicant is not running")
    t.note("tee-supplicant pid \(supplicant.output)")
    let fds = try await t.run("ls -l /proc/$(pidof tee-supplicant)/fd | grep -c teepriv0")
    try t.require(fds.output == "1", "tee-supplicant must hold /dev/teepriv0 open", details: fds.output)
  }

  Test("the device tree carries the OP-TEE node") { t in
    if t.facts.transport == .ffa {
      try t.skip("on an FF-A stack Linux finds OP-TEE as an FF-A partition, not through a device-tree node (see 'Linux reaches OP-TEE over FF-A')")
    }
    let node = "/sys/firmware/devicetree/base/firmware/optee"
    let compatible = try await t.run("tr '\\0' '\\n' < \(node)/compatible")
    try t.require(compatible.status == 0, "no \(node) in the device tree", details: compatible.output)
    try t.require(compatible.lines.contains("linaro,optee-tz"), "compatible is '\(compatible.output)', not linaro,optee-tz")
    let method = try await t.run("tr '\\0' '\\n' < \(node)/method")
    try t.require(method.lines.first == "smc", "method is '\(method.output)', not smc")
    if t.facts.asyncNotifications == true {
      let (cells, interrupt) = try await t.interrupts.notificationInDeviceTree()
      t.note("\(node)/interrupts = \(cells)")
      let intid = try t.requireValue(interrupt?.intid, "interrupts should be three cells", details: cells)
      let built = t.facts.optee.integer("CFG_CORE_ASYNC_NOTIF_GIC_INTID")
      try t.require(built == nil || intid == built, "the node names INTID \(intid), OP-TEE was built with \(built ?? 0)")
    }
  }

  Test("Linux reaches OP-TEE over FF-A: a version agreed, the driver bound to OP-TEE's partition") { t in
    guard t.facts.transport == .ffa else {
      try t.skip("OP-TEE is reached over \(t.facts.transport?.rawValue ?? "a transport nothing names"), not FF-A")
    }
    let versions = try await t.run("dmesg | grep 'ARM FF-A:'")
    let driver = versions.lines.compactMap { Pattern.regex(#"Driver version (\d+\.\d+)"#).firstMatch(in: $0)?.groups[1] }.first
    try t.require(driver != nil,
      "Linux has no FF-A driver (no `ARM FF-A: Driver version` in its log): the kernel lacks CONFIG_ARM_FFA_TRANSPORT, or the initramfs does not load ffa-module",
      details: versions.output)
    let firmware = versions.lines.compactMap { Pattern.regex(#"Firmware version (\d+\.\d+) found"#).firstMatch(in: $0)?.groups[1] }.first
    try t.require(firmware != nil,
      "Linux's FF-A driver found no FF-A firmware (no `ARM FF-A: Firmware version … found`): TF-A's SPMD did not answer FFA_VERSION",
      details: versions.output)
    t.note("FF-A: Linux's driver \(driver ?? "?"), the firmware \(firmware!)")
    let bound = try await t.run("for d in /sys/bus/arm_ffa/drivers/optee/arm-ffa-*; do [ -e \"$d\" ] && echo \"$(cat $d/uuid) $(cat $d/partition_id)\"; done; true")
    let partition = bound.lines.map { $0.split(separator: " ").map(String.init) }
      .first { $0.count == 2 && $0[0].lowercased() == OpteeFFA.uuid }
    try t.require(partition != nil, "Linux's OP-TEE driver is bound to no FF-A partition with OP-TEE's UUID \(OpteeFFA.uuid)",
      details: bound.output)
    let id = partition![1].lowercased()
    t.note("OP-TEE's partition: \(OpteeFFA.uuid), endpoint \(id)")
    // OP-TEE as the SPMC names its own endpoint at boot (a DEBUG build's log): the same partition.
    let secure = await t.secure.lines()
    if let logged = secure.compactMap({ Pattern.regex(#"OP-TEE endpoint ID (0x[0-9a-fA-F]+)"#).firstMatch(in: $0.text)?.groups[1] }).first {
      t.check(UInt64(logged.dropFirst(2), radix: 16) == UInt64(id.dropFirst(2), radix: 16),
        "OP-TEE logged its endpoint as \(logged), Linux's driver is bound to partition \(id)")
    }
    let smc = try await t.run("ls /sys/bus/platform/drivers/optee/ 2>/dev/null | grep -c firmware; true")
    t.check(smc.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "Linux's OP-TEE driver is also bound over SMC (\(smc.output))")
  }
}.fresh(.coldBoot)
