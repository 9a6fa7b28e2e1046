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
 * Parameter 1 is a value out: a = milliseconds the TA measured, b = the cookie.
 */
/* Return at once. */
#define TEEHARNESS_CMD_RETURN	0
/* TEE_Wait(a ms): the secure thread is suspended in an RPC while the normal world sleeps; cancellable. */
#define TEEHARNESS_CMD_WAIT	1
/* Spin a ms on the secure system time: no RPC of its own (foreign interrupts still exit and resume). */
#define TEEHARNESS_CMD_SPIN	2
/* TEE_Panic(): the TA instance dies, the session with it. */
#define TEEHARNESS_CMD_PANIC	3

#endif
