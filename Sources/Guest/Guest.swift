import Suites

/// What the guest is and how to drive it, as a few facades a suite reads like sentences: `t.optee.threads()`,
/// `t.client.start(4, "wait", ...)`, `t.secureConsole.typeBurst("abc")`, `t.interrupts.line(matching: "pl011")`.
extension TestContext {
  /// OP-TEE: its facts, its secure-world probe, its resources.
  package var optee: OPTEE { OPTEE(t: self) }
  /// The payload client's calls into the payload TA.
  package var client: PayloadClient { PayloadClient(t: self) }
  /// OCALLs to the harness's tee-supplicant plugin, and the plugin's log.
  package var plugin: Plugin { Plugin(t: self) }
  /// tee-supplicant: which process serves.
  package var supplicant: Supplicant { Supplicant(t: self) }
  /// The secure console as a typist sees it: bytes typed, and when OP-TEE read them.
  package var secureConsole: SecureConsole { SecureConsole(t: self) }
  /// Linux's view of the interrupts (`/proc/interrupts`, the device tree).
  package var interrupts: Interrupts { Interrupts(t: self) }
  /// OP-TEE's own test program.
  package var xtest: XTest { XTest(t: self) }
}
