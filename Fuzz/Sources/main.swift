import Foundation

// teeharness-fuzz TARGET [libFuzzer flags] [corpus folders]
//
// Built only with TEEHARNESS_FUZZ=1 and `-sanitize=fuzzer` (see ci/fuzz): libFuzzer provides the driver, each
// target below feeds it one input. Every target must return normally for any input; a trap (an overflow, an index
// past the end, a force-unwrap) is a crash libFuzzer reports with the input that caused it.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<Int32>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

let arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTargets.all[arguments[1]] else {
  FileHandle.standardError.write(Data(
    "usage: teeharness-fuzz TARGET [libFuzzer options] [corpus …]; targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n".utf8))
  exit(2)
}
FuzzTargets.selected = target

// libFuzzer sees the program name and everything after the target's name.
var driverArguments: [UnsafeMutablePointer<CChar>?] = ([arguments[0]] + arguments.dropFirst(2)).map { strdup($0) } + [nil]
var argc = Int32(driverArguments.count - 1)
exit(driverArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
  var argv = buffer.baseAddress!
  return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    FuzzTargets.selected?(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }
})
