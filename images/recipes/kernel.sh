#!/usr/bin/env bash
# Linux from Debian's arm64 kernel packages: the plain Image, its config, and the OP-TEE driver
# modules (decompressed, for busybox insmod) in the order they must be loaded. Options: MODULES="a b c".
set -euo pipefail
modules="tee optee"
for arg in "$@"; do case "$arg" in MODULES=*) modules=${arg#MODULES=} ;; esac; done

moddir=$(find "$ROOT/lib/modules" "$ROOT/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1 || true)
[ -n "$moddir" ] || { echo "no lib/modules/<version> in the kernel packages" >&2; exit 1; }
release=$(basename "$moddir")
echo "$release" > "$OUT/release"

image=""
for candidate in "$ROOT/boot/vmlinuz-$release" "$moddir/vmlinuz"; do
  [ -f "$candidate" ] && { image=$candidate; break; }
done
[ -n "$image" ] || { echo "no kernel image for $release (looked in /boot and $moddir)" >&2; exit 1; }
cp "$image" "$OUT/Image"
# Debian's System.map is a stub (the real one is in the -dbg package): the guest's /proc/kallsyms is the
# source of kernel symbols.
for candidate in "$ROOT/boot/config-$release" "$moddir/config"; do
  [ -f "$candidate" ] && cp "$candidate" "$OUT/config" && break
done

mkdir -p "$OUT/modules"
: > "$OUT/modules.order"
for name in $modules; do
  file=$(find "$moddir" -name "$name.ko*" | head -n 1 || true)
  [ -n "$file" ] || { echo "module $name not found under $moddir" >&2; exit 1; }
  case "$file" in
    *.xz) xz -dc "$file" > "$OUT/modules/$name.ko" ;;
    *.zst) zstd -dcq "$file" > "$OUT/modules/$name.ko" ;;
    *.gz) gzip -dc "$file" > "$OUT/modules/$name.ko" ;;
    *) cp "$file" "$OUT/modules/$name.ko" ;;
  esac
  echo "$name" >> "$OUT/modules.order"
done
echo "kernel $release: $(du -h "$OUT/Image" | cut -f1) Image, modules: $modules"
