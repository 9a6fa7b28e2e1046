#!/usr/bin/env bash
# Linux from Debian's arm64 kernel packages, or from a local tree (below): the plain Image, its config, and the
# OP-TEE driver modules (decompressed, for busybox insmod) in the order they must be loaded. Options:
# MODULES="a b c"; for a tree also DEFCONFIG (a defconfig target, or `debian`) and CONFIG_* values.
set -euo pipefail
modules="tee optee"
for arg in "$@"; do case "$arg" in MODULES=*) modules=${arg#MODULES=} ;; esac; done

if [ -f "$SRC/Kbuild" ]; then
  # A local tree (SRC, a mirror of it), built in BUILD (kept between runs): DEFCONFIG (default: defconfig; `debian`:
  # the config of Debian's kernel packages in ROOT, with the OP-TEE driver built in and no debug information or
  # BTF, which need tools the build has not), then every CONFIG_*=y|m|n|value option, then the Image and the
  # modules named by MODULES (none: drivers built in).
  defconfig=defconfig
  modules=""
  configs=()
  for arg in "$@"; do
    case "$arg" in
      DEFCONFIG=*) defconfig=${arg#DEFCONFIG=} ;;
      MODULES=*) modules=${arg#MODULES=} ;;
      CONFIG_*=*) configs+=("$arg") ;;
    esac
  done
  kmake() { make -C "$SRC" O="$BUILD" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- -j"$JOBS" "$@"; }
  if [ "$defconfig" = debian ]; then
    debian_config=$(find "$ROOT/boot" -maxdepth 1 -name 'config-*' 2>/dev/null | head -n 1 || true)
    [ -n "$debian_config" ] || { echo "DEFCONFIG=debian: Debian's kernel packages hold no /boot/config-*" >&2; exit 1; }
    mkdir -p "$BUILD"
    cp "$debian_config" "$BUILD/.config"
    echo "config: $(basename "$debian_config") from Debian's packages"
    configs=(CONFIG_TEE=y CONFIG_OPTEE=y CONFIG_DEBUG_INFO_BTF=n CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=n CONFIG_DEBUG_INFO_DWARF4=n CONFIG_DEBUG_INFO_DWARF5=n CONFIG_DEBUG_INFO_NONE=y
      CONFIG_SYSTEM_TRUSTED_KEYS= CONFIG_SYSTEM_REVOCATION_KEYS= "${configs[@]}")
  else
    kmake "$defconfig"
  fi
  for assignment in "${configs[@]}"; do
    name=${assignment%%=*}; value=${assignment#*=}
    case "$value" in
      y) "$SRC/scripts/config" --file "$BUILD/.config" --enable "${name#CONFIG_}" ;;
      m) "$SRC/scripts/config" --file "$BUILD/.config" --module "${name#CONFIG_}" ;;
      n) "$SRC/scripts/config" --file "$BUILD/.config" --disable "${name#CONFIG_}" ;;
      '') "$SRC/scripts/config" --file "$BUILD/.config" --set-str "${name#CONFIG_}" "" ;;
      *) "$SRC/scripts/config" --file "$BUILD/.config" --set-val "${name#CONFIG_}" "$value" ;;
    esac
  done
  kmake olddefconfig
  for assignment in "${configs[@]}"; do
    name=${assignment%%=*}; value=${assignment#*=}
    if [ -z "$value" ]; then
      ! grep -q "^$name=\"..*\"" "$BUILD/.config" || { echo "option $name= did not take effect" >&2; exit 1; }
    elif [ "$value" = n ]; then
      ! grep -q "^$name=" "$BUILD/.config" || { echo "option $name=n did not take effect (something selects it)" >&2; exit 1; }
    elif ! grep -qx "$name=$value\|$name=\"$value\"" "$BUILD/.config"; then
      echo "option $assignment did not take effect: the config says $(grep "^$name=\|^# $name " "$BUILD/.config" || echo nothing) (a dependency is missing?)" >&2
      exit 1
    fi
  done
  kmake Image ${modules:+modules}
  cp "$BUILD/arch/arm64/boot/Image" "$OUT/Image"
  cp "$BUILD/.config" "$OUT/config"
  kmake -s kernelrelease > "$OUT/release"
  mkdir -p "$OUT/modules"
  : > "$OUT/modules.order"
  for name in $modules; do
    file=$(find "$BUILD" -name "$name.ko" | head -n 1 || true)
    [ -n "$file" ] || { echo "module $name was not built (is it =m in the config?)" >&2; exit 1; }
    cp "$file" "$OUT/modules/$name.ko"
    echo "$name" >> "$OUT/modules.order"
  done
  echo "kernel $(cat "$OUT/release") from the tree: $(du -h "$OUT/Image" | cut -f1) Image, modules: ${modules:-none}"
  exit 0
fi

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
