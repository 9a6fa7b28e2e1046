/*
 * The harness's payload trusted application: its UUID and commands, shared by the TA, the client and the
 * tee-supplicant plugin.
 */
#ifndef TEEHARNESS_PAYLOAD_H
#define TEEHARNESS_PAYLOAD_H

/* c5cea996-574b-4f9e-a856-1bf4128b36ed */
#define TEEHARNESS_TA_UUID \
	{ 0xc5cea996, 0x574b, 0x4f9e, { 0xa8, 0x56, 0x1b, 0xf4, 0x12, 0x8b, 0x36, 0xed } }

/*
 * Commands. Parameter 0 is a value in: a = milliseconds (or a sub-command), b = a cookie echoed back.
 * Parameter 1 is a value out: a = milliseconds the TA measured, b = the cookie. Parameter 2 may be a value out:
 * a = the secure system time (ms) when the TA entered, b = just before it returned — the call's time in the
 * secure world, on one clock for every call.
 */
/* Return at once. */
#define TEEHARNESS_CMD_RETURN	0
/* TEE_Wait(a ms): the secure thread is suspended in an RPC while the normal world sleeps; cancellable. */
#define TEEHARNESS_CMD_WAIT	1
/* Spin a ms on the secure system time: no RPC of its own (foreign interrupts still exit and resume). */
#define TEEHARNESS_CMD_SPIN	2
/* TEE_Panic(): the TA instance dies, the session with it. */
#define TEEHARNESS_CMD_PANIC	3
/*
 * An OCALL: the TA calls the harness's tee-supplicant plugin (tee_invoke_supp_plugin) and waits, its thread
 * suspended, for the answer. Parameter 0: a = plugin command, b = its argument (milliseconds for SLEEP).
 * Parameter 1 out: a = milliseconds the TA measured, b = what tee_invoke_supp_plugin returned. Parameter 2:
 * none, or a memref in/out whose bytes go to the plugin and are replaced by what it sends back.
 */
#define TEEHARNESS_CMD_OCALL	4
/*
 * Compute in user mode with no system call: a = units of TEEHARNESS_COMPUTE_UNIT turns of a loop of plain
 * instructions (no time read in between; the harness calibrates units per ms with a first call). A foreign
 * interrupt must be taken straight from S-EL0.
 */
#define TEEHARNESS_CMD_COMPUTE	5
#define TEEHARNESS_COMPUTE_UNIT	65536

/* The harness's tee-supplicant plugin, in /usr/lib/tee-supplicant/plugins/. */
/* 2b7e9d1c-84a3-4f6e-b5c2-9e0d3a71f648 */
#define TEEHARNESS_PLUGIN_UUID \
	{ 0x2b7e9d1c, 0x84a3, 0x4f6e, { 0xb5, 0xc2, 0x9e, 0x0d, 0x3a, 0x71, 0xf6, 0x48 } }
#define TEEHARNESS_PLUGIN_NAME	"2b7e9d1c-84a3-4f6e-b5c2-9e0d3a71f648.plugin"
/* Each plugin call appends one line here: `serving|served PID TID cmd=C arg=A len=L sum=S`. */
#define TEEHARNESS_PLUGIN_LOG	"/tmp/teeharness-plugin.log"

/* Plugin commands. */
/* Send the bytes back as they came. */
#define TEEHARNESS_PLUGIN_ECHO	0
/* Sleep `arg` ms, then echo. */
#define TEEHARNESS_PLUGIN_SLEEP	1
/* Do not answer until TEEHARNESS_PLUGIN_RELEASE exists: the supplicant thread serving the call blocks. */
#define TEEHARNESS_PLUGIN_HANG	2
#define TEEHARNESS_PLUGIN_RELEASE	"/tmp/teeharness-plugin-release"
/* Dereference a null pointer: tee-supplicant dies of SIGSEGV mid-call. */
#define TEEHARNESS_PLUGIN_CRASH	3

#endif
