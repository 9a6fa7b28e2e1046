#!/usr/bin/env bash
# What the harness's secure-world probes need to read OP-TEE's thread table, taken from the debug info of
# "$OUT/tee.elf" (never hand-written): `name=value` lines in "$OUT/layout.txt". Used by optee.sh and for a
# prebuilt tee.elf.
set -euo pipefail
gdb-multiarch -batch -nx \
  -ex 'print sizeof(struct thread_ctx)' \
  -ex 'print (long)&((struct thread_ctx *)0)->state' \
  -ex 'print sizeof(((struct thread_ctx *)0)->state)' \
  -ex 'print sizeof(threads)' \
  -ex 'print sizeof(thread_count)' \
  -ex 'ptype enum thread_state' \
  "$OUT/tee.elf" > "$WORK/layout.gdb"
values=($(sed -n 's/^\$[0-9]* = \([0-9]*\)$/\1/p' "$WORK/layout.gdb"))
states=$(sed -n 's/^type = enum thread_state {\(.*\)}$/\1/p' "$WORK/layout.gdb" | tr -d ' ')
[ "${#values[@]}" -eq 5 ] && [ -n "$states" ] || { echo "cannot read the thread layout from tee.elf:"; cat "$WORK/layout.gdb"; exit 1; }
cat > "$OUT/layout.txt" <<LAYOUT
thread_ctx_size=${values[0]}
thread_ctx_state_offset=${values[1]}
thread_ctx_state_size=${values[2]}
threads_size=${values[3]}
thread_count_size=${values[4]}
thread_states=$states
LAYOUT

# Where a standard call that found no free thread is answered "busy": the instruction after the call to
# thread_alloc_and_run (which returns only when every thread is taken) in the function that takes standard
# calls — thread_handle_std_smc on the classic SMC ABI (OPTEE_SMC_RETURN_ETHREAD_LIMIT), handle_yielding_call
# for an FF-A direct request (TEE_ERROR_BUSY).
ethread=
for entry in thread_handle_std_smc handle_yielding_call; do
  ethread=$(aarch64-linux-gnu-objdump -d --disassemble=$entry "$OUT/tee.elf" \
    | { grep -A1 'bl.*<thread_alloc_and_run>' || true; } | sed -n '2s/^ *\([0-9a-f]*\):.*/\1/p')
  [ -z "$ethread" ] || break
done
[ -n "$ethread" ] || { echo "cannot find the no-free-thread return in thread_handle_std_smc or handle_yielding_call"; exit 1; }
echo "ethread_limit_return=0x$ethread" >> "$OUT/layout.txt"
cat "$OUT/layout.txt"
