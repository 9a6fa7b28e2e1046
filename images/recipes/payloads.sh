#!/usr/bin/env bash
# The harness's own payloads (images/payloads): the trusted application, built with the stack's TA dev kit and
# signed with its key; the client, built against sid's libteec; the tee-supplicant plugin the TA calls out to.
# Installed into the initramfs as rootfs/.
set -euo pipefail
src="$HARNESS_IMAGES/payloads"
# The stack's own TA dev kit; for a prebuilt OP-TEE that comes without one, Debian's (optee-os-dev).
kit="$DEP_OPTEE/export-ta_arm64"
if [ ! -d "$kit" ]; then
  kit=$(dirname "$(find "$ROOT/usr/lib/optee-os-dev" -path '*/mk/ta_dev_kit.mk' | head -n 1)")
  kit=${kit%/mk}
  echo "payloads: the OP-TEE component has no TA dev kit; using Debian's $kit"
fi
rootfs="$OUT/rootfs"
plugins="$rootfs/usr/lib/tee-supplicant/plugins"
mkdir -p "$rootfs/usr/lib/optee_armtz" "$rootfs/usr/bin" "$plugins"

cp -a "$src"/. "$WORK/src"
make -C "$WORK/src/ta" CROSS_COMPILE=aarch64-linux-gnu- TA_DEV_KIT_DIR="$kit" PYTHON3=/usr/bin/python3 \
  O="$WORK/ta-out" --no-print-directory
cp "$WORK"/ta-out/*.ta "$rootfs/usr/lib/optee_armtz/"

libdir="$ROOT/usr/lib/aarch64-linux-gnu"
# libteec's own needs are met by the guest's (newer) libc: do not check them against the cross toolchain's.
aarch64-linux-gnu-gcc -O2 -Wall -Werror -pthread -I"$ROOT/usr/include" -I"$src/include" \
  -o "$rootfs/usr/bin/teeharness-client" "$src/client/teeharness-client.c" \
  -L"$libdir" -lteec -Wl,--allow-shlib-undefined
plugin=$(sed -n 's/^#define TEEHARNESS_PLUGIN_NAME[[:space:]]*"\(.*\)"/\1/p' "$src/include/teeharness_payload.h")
aarch64-linux-gnu-gcc -O2 -Wall -Werror -shared -fPIC -I"$ROOT/usr/include" -I"$src/include" \
  -o "$plugins/$plugin" "$src/plugin/teeharness-plugin.c"
echo "payloads: $(ls "$rootfs/usr/lib/optee_armtz") teeharness-client $plugin"
