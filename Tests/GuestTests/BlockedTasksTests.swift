import Guest
import Testing

@Suite struct BlockedTasksTests {
  /// As Linux 6.12 prints sysrq `w` on arm64.
  let dump = """
    [  812.503411] sysrq: Show Blocked State
    [  812.503902] task:xtest           state:D stack:0     pid:231   tgid:231   ppid:1      flags:0x00000008
    [  812.504388] Call trace:
    [  812.504551]  __switch_to+0xf4/0x160
    [  812.504790]  __schedule+0x2a8/0x788
    [  812.505006]  schedule+0x3c/0x148
    [  812.505204]  schedule_timeout+0x164/0x1a8
    [  812.505419]  __wait_for_common+0xd4/0x1c8
    [  812.505637]  wait_for_completion+0x28/0x40
    [  812.505880]  optee_cq_wait_for_completion+0x34/0xc0 [optee]
    [  812.506132]  optee_smc_do_call_with_arg+0xb0/0x1f8 [optee]
    [  812.506388]  optee_invoke_func+0x140/0x1e8 [optee]
    [  812.506640] task:kworker/0:2     state:I stack:0     pid:12    tgid:12    ppid:2      flags:0x00000008
    [  812.506902] Call trace:
    [  812.507001]  __switch_to+0xf4/0x160
    [  812.507200]  ret_from_fork+0x10/0x20
    """.split(separator: "\n").map(String.init)

  @Test func eachTaskSaysWhereItWaits() {
    let tasks = BlockedTask.parse(dump)
    #expect(tasks.count == 2)
    #expect(tasks[0].name == "xtest" && tasks[0].pid == 231 && tasks[0].state == "D")
    #expect(tasks[0].waitsIn == "optee_cq_wait_for_completion [optee]")
    #expect(tasks[0].frames.count == 9)
    #expect(tasks[0].description == "xtest (pid 231) D in optee_cq_wait_for_completion [optee]")
    // Only scheduler frames: nothing said about what it waits for.
    #expect(tasks[1].waitsIn == nil)
  }

  @Test func olderAndCallerPrefixedLinesAreRead() {
    let tasks = BlockedTask.parse(["[  1.0][ T170] task:tee-supplicant state:S stack:0 pid:  88 ppid:1 flags:0x0", "[  1.0][ T170]  optee_supp_recv+0x10/0x20 [optee]"])
    #expect(tasks.count == 1)
    #expect(tasks.first?.description == "tee-supplicant (pid 88) S in optee_supp_recv [optee]")
  }

  @Test func linesThatAreNotADumpGiveNoTask() {
    #expect(BlockedTask.parse(["sysrq: Show Blocked State", "random text+0x12", "task:", "[ 1.0] hello"]).isEmpty)
  }
}
