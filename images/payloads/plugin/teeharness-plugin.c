/*
 * The harness's tee-supplicant plugin: the normal-world end of the payload TA's OCALLs. It echoes, sleeps,
 * hangs or crashes on command, and logs every call to TEEHARNESS_PLUGIN_LOG so the harness can act while a
 * call is being served (kill the client, the supplicant, ...).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <tee_plugin_method.h>
#include <teeharness_payload.h>

/* The checksum the client computes too: proves which bytes the plugin saw. */
static uint32_t checksum(const uint8_t *data, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = sum * 31 + data[i];
	return sum;
}

static void log_line(const char *what, unsigned int cmd, unsigned int arg, const void *data, size_t len)
{
	int fd = open(TEEHARNESS_PLUGIN_LOG, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd < 0)
		return;
	dprintf(fd, "%s pid=%d tid=%ld cmd=%u arg=%u len=%zu sum=%u\n", what, (int)getpid(), (long)syscall(SYS_gettid),
		cmd, arg, len, data ? checksum(data, len) : 0);
	close(fd);
}

static TEEC_Result plugin_init(void)
{
	log_line("init", 0, 0, NULL, 0);
	return TEEC_SUCCESS;
}

static TEEC_Result plugin_invoke(unsigned int cmd, unsigned int arg, void *data, size_t in_len, size_t *out_len)
{
	struct timespec pause_for = { .tv_sec = arg / 1000, .tv_nsec = (arg % 1000) * 1000000L };

	log_line("serving", cmd, arg, data, in_len);
	switch (cmd) {
	case TEEHARNESS_PLUGIN_ECHO:
		break;
	case TEEHARNESS_PLUGIN_SLEEP:
		while (nanosleep(&pause_for, &pause_for))
			;
		break;
	case TEEHARNESS_PLUGIN_HANG:
		while (access(TEEHARNESS_PLUGIN_RELEASE, F_OK))
			usleep(10000);
		break;
	case TEEHARNESS_PLUGIN_CRASH:
		*(volatile int *)NULL = 0;
		break;
	default:
		return TEEC_ERROR_NOT_SUPPORTED;
	}
	*out_len = in_len;
	log_line("served", cmd, arg, data, in_len);
	return TEEC_SUCCESS;
}

struct plugin_method plugin_method = {
	.name = "teeharness",
	.uuid = TEEHARNESS_PLUGIN_UUID,
	.init = plugin_init,
	.invoke = plugin_invoke,
};
