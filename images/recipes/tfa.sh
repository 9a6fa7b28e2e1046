#!/usr/bin/env bash
# TF-A BL1, BL2 and BL31 for QEMU from an unpacked Debian source or a local tree (SRC), built in BUILD (kept
# between runs for a local tree). BL32 (OP-TEE) and BL33 (U-Boot) are not linked in: the harness packs every
# stage into the FIP of the machine's flash itself, so TF-A does not change when OP-TEE or U-Boot do.
#
# With SPD=spmd (FF-A, OP-TEE as the SPMC at S-EL1) BL2 also loads the SPM Core manifest (TOS_FW_CONFIG) from
# the FIP and BL31's SPMD reads it. Unless the options name one (QEMU_TOS_FW_CONFIG_DTS), the harness writes
# it: the FF-A core manifest binding of TF-A's docs/components/ffa-manifest-binding.rst, with the values of
# this platform — SPMC ID 0x8000 (the secure bit set), FF-A 1.1, AArch64, OP-TEE's entry at the start of the
# secure DRAM it is placed in (BL32_RAM_LOCATION=tdram). For an S-EL1 SPMC BL2 takes the real entry point
# from OP-TEE's header; the SPMD checks the version, the ID and the execution state.
set -euo pipefail
cd "$SRC"
args=("$@")
spmd=no manifest=
for arg in "$@"; do
  case "$arg" in
    SPD=spmd) spmd=yes ;;
    QEMU_TOS_FW_CONFIG_DTS=*) manifest=${arg#*=} ;;
  esac
done
if [[ $spmd == yes && -z $manifest ]]; then
  manifest="$WORK/spmc_manifest.dts"
  cat >"$manifest" <<'DTS'
/dts-v1/;
/ {
	compatible = "arm,ffa-core-manifest-1.0";
	#address-cells = <2>;
	#size-cells = <1>;
	attribute {
		spmc_id = <0x8000>;
		maj_ver = <0x1>;
		min_ver = <0x1>;
		exec_state = <0x0>;
		load_address = <0x0 0x0e100000>;
		entrypoint = <0x0 0x0e100000>;
		binary_size = <0x00f00000>;
	};
};
DTS
  args+=("QEMU_TOS_FW_CONFIG_DTS=$manifest")
fi
make -j"$JOBS" CROSS_COMPILE=aarch64-linux-gnu- BUILD_BASE="$BUILD/build" "${args[@]}" all
build=$(dirname "$(find "$BUILD/build" -name bl31.bin -path '*/bl31.bin' -not -path '*/bl31/*' | head -n 1)")
for stage in bl1 bl2 bl31; do
  cp "$build/$stage.bin" "$OUT/"
  cp "$build/$stage/$stage.elf" "$OUT/"
done
if [[ -n $manifest ]]; then
  cp "$build/fdts/$(basename "${manifest%.*}").dtb" "$OUT/tos_fw_config.dtb"
fi
