#!/usr/bin/env bash
# qemu-system-aarch64 from Debian's qemu source package: the aarch64-softmmu target only, no GUI.
set -euo pipefail
cd "$SRC"
mkdir -p "$WORK/build"
cd "$WORK/build"
"$SRC/configure" --target-list=aarch64-softmmu --prefix="$OUT" --disable-docs --disable-gtk --disable-sdl \
  --disable-vnc --disable-opengl --disable-werror --disable-user --disable-tools --disable-guest-agent "$@"
make -j"$JOBS"
mkdir -p "$OUT/bin"
cp qemu-system-aarch64 "$OUT/bin/"
