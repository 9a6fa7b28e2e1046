#!/usr/bin/env bash
# TF-A BL1, BL2 and BL31 for QEMU from an unpacked Debian source or a local tree (SRC), built in BUILD (kept
# between runs for a local tree). BL32 (OP-TEE) and BL33 (U-Boot) are not linked in: BL1 loads every stage by
# semihosting from the machine's run folder, so TF-A does not change when OP-TEE or U-Boot do.
set -euo pipefail
cd "$SRC"
make -j"$JOBS" CROSS_COMPILE=aarch64-linux-gnu- BUILD_BASE="$BUILD/build" "$@" all
build=$(dirname "$(find "$BUILD/build" -name bl31.bin -path '*/bl31.bin' -not -path '*/bl31/*' | head -n 1)")
for stage in bl1 bl2 bl31; do
  cp "$build/$stage.bin" "$OUT/"
  cp "$build/$stage/$stage.elf" "$OUT/"
done
