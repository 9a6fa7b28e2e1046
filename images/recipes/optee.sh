#!/usr/bin/env bash
# OP-TEE OS for QEMU v8 from an unpacked Debian source or a local tree (SRC), built in BUILD (kept between runs
# for a local tree, so only what changed is recompiled), or Debian's prebuilt images from the optee-os package
# (ROOT). Options are CFG_* and PLATFORM make variables.
set -euo pipefail
if [ ! -d "$SRC/core" ]; then
  # Debian's prebuilt OP-TEE (optee-os) with its TA dev kit (optee-os-dev): no symbols, no conf.mk.
  platform=vexpress-qemu_armv8a
  for arg in "$@"; do case "$arg" in PLATFORM=*) platform=${arg#PLATFORM=} ;; esac; done
  cp "$ROOT/usr/lib/optee/$platform/"tee-{header,pager,pageable}_v2.bin "$OUT"/
  if [ -d "$ROOT/usr/lib/optee-os-dev/$platform" ]; then cp -a "$ROOT/usr/lib/optee-os-dev/$platform" "$OUT/export-ta_arm64"; fi
  echo "optee: Debian's prebuilt $platform images"
  exit 0
fi
cd "$SRC"
env PATH=/usr/bin:/bin make -j"$JOBS" PYTHON3=/usr/bin/python3 \
  CROSS_COMPILE64=aarch64-linux-gnu- CROSS_COMPILE=aarch64-linux-gnu- \
  ta-targets=ta_arm64 O="$BUILD/out" "$@" all
cp "$BUILD"/out/core/tee-header_v2.bin "$BUILD"/out/core/tee-pager_v2.bin "$BUILD"/out/core/tee-pageable_v2.bin \
   "$BUILD"/out/core/tee.elf "$BUILD"/out/conf.mk "$OUT"/
cp -a "$BUILD"/out/export-ta_arm64 "$OUT"/
bash "$(dirname "$0")/optee-layout.sh"
