#!/usr/bin/env bash
# qemu-system-aarch64 from Debian's qemu source package or a local QEMU tree (SRC), built in BUILD (kept between
# runs for a tree, so an edit recompiles what it touches): the aarch64-softmmu target only, no GUI.
# Debian's source drops the bundled Python wheels, and QEMU 10 needs a newer meson than bookworm's: the pinned
# wheel comes from PyPI (hash-checked) into the folder configure installs its build venv from. A tree that ships
# its own meson wheel (a git checkout does) uses that one. Option: CONFIGURE="--enable-debug ..." (more flags).
set -euo pipefail
flags=()
for arg in "$@"; do
  case "$arg" in
    CONFIGURE=*) read -ra more <<< "${arg#CONFIGURE=}"; flags+=("${more[@]}") ;;
    *) echo "unknown QEMU option ${arg%%=*}: QEMU takes CONFIGURE=\"--flag ...\" (configure's flags)" >&2; exit 1 ;;
  esac
done
cd "$SRC"
if ! ls python/wheels/meson-*.whl >/dev/null 2>&1; then
  mkdir -p python/wheels
  printf 'meson==1.5.0 --hash=sha256:52b34f4903b882df52ad0d533146d4b992c018ea77399f825579737672ae7b20\n' > "$WORK/wheels.txt"
  python3 -m pip download --quiet --no-deps --require-hashes -r "$WORK/wheels.txt" -d python/wheels
fi
mkdir -p "$BUILD"
cd "$BUILD"
# configure once per build folder (one per set of options); later runs let ninja redo what changed.
if [ ! -f build.ninja ]; then
  "$SRC/configure" --target-list=aarch64-softmmu --prefix="$OUT" --disable-docs --disable-gtk --disable-sdl \
    --disable-vnc --disable-opengl --disable-werror --disable-user --disable-tools --disable-guest-agent \
    --disable-install-blobs --disable-download ${flags[@]+"${flags[@]}"}
fi
make -j"$JOBS"
mkdir -p "$OUT/bin"
cp qemu-system-aarch64 "$OUT/bin/"
"$OUT/bin/qemu-system-aarch64" --version | head -n 1
