#!/usr/bin/env bash
# qemu-system-aarch64 from Debian's qemu source package: the aarch64-softmmu target only, no GUI.
# Debian's source drops the bundled Python wheels, and QEMU 10 needs a newer meson than bookworm's: the pinned
# wheel comes from PyPI (hash-checked) into the folder configure installs its build venv from.
set -euo pipefail
cd "$SRC"
mkdir -p python/wheels
printf 'meson==1.5.0 --hash=sha256:52b34f4903b882df52ad0d533146d4b992c018ea77399f825579737672ae7b20\n' > "$WORK/wheels.txt"
python3 -m pip download --quiet --no-deps --require-hashes -r "$WORK/wheels.txt" -d python/wheels
mkdir -p "$WORK/build"
cd "$WORK/build"
"$SRC/configure" --target-list=aarch64-softmmu --prefix="$OUT" --disable-docs --disable-gtk --disable-sdl \
  --disable-vnc --disable-opengl --disable-werror --disable-user --disable-tools --disable-guest-agent \
  --disable-install-blobs "$@"
make -j"$JOBS"
mkdir -p "$OUT/bin"
cp qemu-system-aarch64 "$OUT/bin/"
