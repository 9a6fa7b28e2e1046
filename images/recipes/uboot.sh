#!/usr/bin/env bash
# U-Boot for QEMU's virt machine from Debian's u-boot-qemu, used as BL33.
set -euo pipefail
cp "$ROOT/usr/lib/u-boot/qemu_arm64/u-boot.bin" "$OUT/u-boot.bin"
