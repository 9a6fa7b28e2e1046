#!/usr/bin/env bash
# OP-TEE OS for QEMU v8 from an unpacked Debian source or a local tree (SRC), built in BUILD (kept between runs
# for a local tree, so only what changed is recompiled). Options are CFG_* and PLATFORM make variables.
set -euo pipefail
cd "$SRC"
env PATH=/usr/bin:/bin make -j"$JOBS" PYTHON3=/usr/bin/python3 \
  CROSS_COMPILE64=aarch64-linux-gnu- CROSS_COMPILE=aarch64-linux-gnu- \
  ta-targets=ta_arm64 O="$BUILD/out" "$@" all
cp "$BUILD"/out/core/tee-header_v2.bin "$BUILD"/out/core/tee-pager_v2.bin "$BUILD"/out/core/tee-pageable_v2.bin \
   "$BUILD"/out/core/tee.elf "$BUILD"/out/conf.mk "$OUT"/
cp -a "$BUILD"/out/export-ta_arm64 "$OUT"/
bash "$(dirname "$0")/optee-layout.sh"
