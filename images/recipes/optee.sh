#!/usr/bin/env bash
# OP-TEE OS for QEMU v8 from the unpacked Debian source. Options are CFG_* and PLATFORM make variables.
set -euo pipefail
cd "$SRC"
env PATH=/usr/bin:/bin make -j"$JOBS" PYTHON3=/usr/bin/python3 \
  CROSS_COMPILE64=aarch64-linux-gnu- CROSS_COMPILE=aarch64-linux-gnu- \
  ta-targets=ta_arm64 O="$WORK/out" "$@" all
cp "$WORK"/out/core/tee-header_v2.bin "$WORK"/out/core/tee-pager_v2.bin "$WORK"/out/core/tee-pageable_v2.bin \
   "$WORK"/out/core/tee.elf "$WORK"/out/conf.mk "$OUT"/
cp -a "$WORK"/out/export-ta_arm64 "$OUT"/
