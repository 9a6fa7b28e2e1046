#!/usr/bin/env bash
# The initramfs tree: Debian's arm64 userland (busybox, libc, tee-supplicant, libteec, xtest and its TAs), the
# in-tree TAs shipped by optee-os-dev (pkcs11), the kernel's OP-TEE modules and the harness's own /init.
set -euo pipefail
rootfs="$OUT/rootfs"
mkdir -p "$rootfs"
cp -a "$ROOT"/. "$rootfs"/

# Merged /usr: the sid packages install under usr/.
for dir in bin sbin lib; do
  mkdir -p "$rootfs/usr/$dir"
  if [ -d "$rootfs/$dir" ] && [ ! -L "$rootfs/$dir" ]; then
    cp -a "$rootfs/$dir"/. "$rootfs/usr/$dir"/ && rm -rf "${rootfs:?}/$dir"
  fi
  ln -sfn "usr/$dir" "$rootfs/$dir"
done

# /init is a shell script: the kernel needs /bin/sh before busybox installs its other applets.
ln -sfn busybox "$rootfs/usr/bin/sh"

# In-tree TAs from the OP-TEE dev kit package join the others; the rest of the kit is not needed at run time.
mkdir -p "$rootfs/usr/lib/optee_armtz"
if [ -d "$rootfs/usr/lib/optee-os-dev" ]; then
  find "$rootfs/usr/lib/optee-os-dev" -name '*.ta' -exec cp {} "$rootfs/usr/lib/optee_armtz/" \;
  rm -rf "$rootfs/usr/lib/optee-os-dev"
fi

# What a test machine never reads.
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/lintian" \
  "$rootfs/usr/share/locale" "$rootfs/usr/include" "$rootfs/etc/init.d" "$rootfs/usr/lib/systemd" \
  "$rootfs/usr/lib/aarch64-linux-gnu/gconv"

mkdir -p "$rootfs/lib/modules" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp" "$rootfs/run" \
  "$rootfs/var/lib/optee-client/data/tee" "$rootfs/etc" "$rootfs/root"
# The kernel's OP-TEE modules (none for a kernel with the driver built in).
find "$DEP_KERNEL/modules" -name '*.ko' -exec cp {} "$rootfs/lib/modules/" \;
cp "$DEP_KERNEL/modules.order" "$rootfs/lib/modules/"
if [ -n "${DEP_PAYLOADS:-}" ]; then cp -a "$DEP_PAYLOADS/rootfs"/. "$rootfs"/; fi
cp "$HARNESS_IMAGES/initramfs/init" "$rootfs/init"
chmod 0755 "$rootfs/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\n' > "$rootfs/etc/group"
if [ -d "$HARNESS_IMAGES/initramfs/overlay" ]; then cp -a "$HARNESS_IMAGES/initramfs/overlay"/. "$rootfs"/; fi
