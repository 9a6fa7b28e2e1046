/*
 * The harness's payload client: many calls into the payload TA at once, each reported as one JSON line; and a
 * real-time program that moves itself onto one CPU (a reschedule IPI Linux must send there).
 *
 *   teeharness-client calls [-n COUNT] [-c return|wait|spin|panic|compute] [-m MS] [-g GOFILE]
 *       COUNT threads each open a session (own context), wait for all the others (and, with -g, until GOFILE
 *       exists), then invoke the command together. Lines: {"event":"opened",...} once every session is open,
 *       {"event":"invoking",...} just before each call, {"event":"call",...} when it ends,
 *       {"event":"summary",...} last. Times are the guest's CLOCK_MONOTONIC in seconds; a call's ta_in and
 *       ta_out are the TA's own entry and return on OP-TEE's system time, in ms.
 *       For compute, -m counts units of TEEHARNESS_COMPUTE_UNIT loop turns, not ms.
 *       Exit status: 0 when every call returned what its command should (panic: TEEC_ERROR_TARGET_DEAD).
 *   teeharness-client hold [-n SESSIONS]
 *       Opens SESSIONS sessions, prints {"event":"holding",...} and sleeps until killed.
 *   teeharness-client ocall [-c echo|sleep|hang|crash] [-m MS] [-s none|registered|temporary|allocated]
 *                           [-b BYTES] [-x CANCEL_MS]
 *       One call whose TA calls out to the harness's tee-supplicant plugin (command -c, argument -m) with
 *       BYTES bytes in shared memory of kind -s. With -x, another thread requests the call's cancellation
 *       CANCEL_MS ms after it began. Lines: opened, invoking, {"event":"ocall",...} (result, origin, what the
 *       plugin call returned in the TA, bytes sent and returned, whether they came back intact, checksum).
 *       Exit status: 0 when the call succeeded with its bytes intact.
 *   teeharness-client pin CPU
 *       Becomes a real-time task (SCHED_FIFO) and moves itself to CPU only. Linux must then preempt whatever runs
 *       there at once, which it asks of that CPU with a reschedule IPI: the program runs on CPU only once that CPU
 *       took the IPI. Prints {"event":"pinned","cpu":CPU,"from":START,"on":WHERE,"asked":T0,"ran":T1}: the move
 *       from CPU START asked at T0, running on WHERE at T1 (CLOCK_MONOTONIC, s). Exit status: 0 when it ran on CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tee_client_api.h>
#include <teeharness_payload.h>

static const TEEC_UUID payload_uuid = TEEHARNESS_TA_UUID;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_open;
static const char *go_file;

struct call {
	int index;
	uint32_t command;
	uint32_t ms;
	TEEC_Result open_result;
	uint32_t open_origin;
	TEEC_Result result;
	uint32_t origin;
	uint32_t ta_ms;
	uint32_t ta_in;
	uint32_t ta_out;
	double start;
	double end;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static const char *command_name(uint32_t command)
{
	switch (command) {
	case TEEHARNESS_CMD_RETURN: return "return";
	case TEEHARNESS_CMD_WAIT: return "wait";
	case TEEHARNESS_CMD_SPIN: return "spin";
	case TEEHARNESS_CMD_PANIC: return "panic";
	case TEEHARNESS_CMD_COMPUTE: return "compute";
	}
	return "?";
}

static int command_number(const char *name, uint32_t *command)
{
	static const uint32_t all[] = { TEEHARNESS_CMD_RETURN, TEEHARNESS_CMD_WAIT, TEEHARNESS_CMD_SPIN,
					TEEHARNESS_CMD_PANIC, TEEHARNESS_CMD_COMPUTE };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, command_name(all[i]))) {
			*command = all[i];
			return 0;
		}
	}
	return -1;
}

static void line(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *format, ...)
{
	va_list args;

	pthread_mutex_lock(&out_lock);
	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void *run_call(void *arg)
{
	struct call *c = arg;
	TEEC_Context context;
	TEEC_Session session;
	TEEC_Operation op;
	int opened = 0;

	c->open_result = TEEC_InitializeContext(NULL, &context);
	if (c->open_result == TEEC_SUCCESS) {
		c->open_result = TEEC_OpenSession(&context, &session, &payload_uuid, TEEC_LOGIN_PUBLIC, NULL, NULL,
						  &c->open_origin);
		opened = c->open_result == TEEC_SUCCESS;
	}
	if (pthread_barrier_wait(&all_open) == PTHREAD_BARRIER_SERIAL_THREAD)
		line("{\"event\":\"opened\",\"at\":%.6f}", now());
	while (go_file && access(go_file, F_OK))
		usleep(5000);
	if (opened) {
		memset(&op, 0, sizeof(op));
		op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_VALUE_OUTPUT, TEEC_VALUE_OUTPUT, TEEC_NONE);
		op.params[0].value.a = c->ms;
		op.params[0].value.b = c->index;
		c->start = now();
		line("{\"event\":\"invoking\",\"call\":%d,\"at\":%.6f}", c->index, c->start);
		c->result = TEEC_InvokeCommand(&session, c->command, &op, &c->origin);
		c->end = now();
		c->ta_ms = op.params[1].value.a;
		c->ta_in = op.params[2].value.a;
		c->ta_out = op.params[2].value.b;
		TEEC_CloseSession(&session);
	} else {
		c->result = c->open_result;
		c->origin = c->open_origin;
		c->start = c->end = now();
	}
	if (c->open_result == TEEC_SUCCESS || opened)
		TEEC_FinalizeContext(&context);
	line("{\"event\":\"call\",\"call\":%d,\"command\":\"%s\",\"ms\":%u,\"opened\":%s,\"result\":\"0x%08x\","
	     "\"origin\":%u,\"start\":%.6f,\"end\":%.6f,\"ta_ms\":%u,\"ta_in\":%u,\"ta_out\":%u}",
	     c->index, command_name(c->command), c->ms, opened ? "true" : "false", c->result, c->origin, c->start,
	     c->end, c->ta_ms, c->ta_in, c->ta_out);
	return NULL;
}

static int calls(int count, uint32_t command, uint32_t ms)
{
	struct call *all = calloc(count, sizeof(*all));
	pthread_t *threads = calloc(count, sizeof(*threads));
	TEEC_Result expected = command == TEEHARNESS_CMD_PANIC ? TEEC_ERROR_TARGET_DEAD : TEEC_SUCCESS;
	double start = now();
	int ok = 0;

	if (!all || !threads || pthread_barrier_init(&all_open, NULL, count))
		return 2;
	for (int i = 0; i < count; i++) {
		all[i] = (struct call){ .index = i, .command = command, .ms = ms };
		if (pthread_create(&threads[i], NULL, run_call, &all[i])) {
			fprintf(stderr, "teeharness-client: cannot start thread %d\n", i);
			return 2;
		}
	}
	for (int i = 0; i < count; i++) {
		pthread_join(threads[i], NULL);
		if (all[i].result == expected && all[i].open_result == TEEC_SUCCESS)
			ok++;
	}
	line("{\"event\":\"summary\",\"calls\":%d,\"ok\":%d,\"failed\":%d,\"start\":%.6f,\"end\":%.6f}", count, ok,
	     count - ok, start, now());
	return ok == count ? 0 : 1;
}

static int hold(int count)
{
	TEEC_Context context;
	TEEC_Session *sessions = calloc(count, sizeof(*sessions));
	TEEC_Result res = TEEC_InitializeContext(NULL, &context);
	uint32_t origin = 0;
	int opened = 0;

	if (res == TEEC_SUCCESS) {
		for (; opened < count; opened++) {
			res = TEEC_OpenSession(&context, &sessions[opened], &payload_uuid, TEEC_LOGIN_PUBLIC, NULL,
					       NULL, &origin);
			if (res != TEEC_SUCCESS)
				break;
		}
	}
	line("{\"event\":\"holding\",\"sessions\":%d,\"result\":\"0x%08x\",\"origin\":%u,\"pid\":%d}", opened, res,
	     origin, (int)getpid());
	while (pause() == -1 && errno == EINTR)
		;
	return 1;
}

static const char *plugin_commands[] = { "echo", "sleep", "hang", "crash" };
static const char *memory_kinds[] = { "none", "registered", "temporary", "allocated" };
enum memory_kind { MEMORY_NONE, MEMORY_REGISTERED, MEMORY_TEMPORARY, MEMORY_ALLOCATED };

static int lookup(const char *name, const char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

/* The checksum the plugin computes too. */
static uint32_t checksum(const uint8_t *data, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = sum * 31 + data[i];
	return sum;
}

struct cancel_request {
	TEEC_Operation *op;
	uint32_t after_ms;
};

static void *cancel_later(void *arg)
{
	struct cancel_request *c = arg;

	usleep(c->after_ms * 1000);
	line("{\"event\":\"cancelling\",\"at\":%.6f}", now());
	TEEC_RequestCancellation(c->op);
	return NULL;
}

static int ocall(int plugin_command, uint32_t argument, enum memory_kind kind, size_t bytes, int cancel_ms)
{
	TEEC_Context context;
	TEEC_Session session;
	TEEC_SharedMemory shm;
	TEEC_Operation op;
	TEEC_Result res;
	uint32_t origin = 0;
	uint8_t *data = NULL;
	uint8_t *sent = NULL;
	size_t returned = 0;
	uint32_t sum = 0;
	int intact = 0;
	pthread_t canceller;
	struct cancel_request cancel = { .op = &op, .after_ms = cancel_ms };
	double start = 0;
	double end = 0;

	memset(&op, 0, sizeof(op));
	memset(&shm, 0, sizeof(shm));
	res = TEEC_InitializeContext(NULL, &context);
	if (res == TEEC_SUCCESS)
		res = TEEC_OpenSession(&context, &session, &payload_uuid, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
	line("{\"event\":\"opened\",\"result\":\"0x%08x\",\"origin\":%u,\"pid\":%d,\"at\":%.6f}", res, origin,
	     (int)getpid(), now());
	if (res != TEEC_SUCCESS)
		return 1;

	sent = malloc(bytes ? bytes : 1);
	for (size_t i = 0; i < bytes; i++)
		sent[i] = (uint8_t)(i * 7 + getpid());
	sum = checksum(sent, bytes);
	op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
	op.params[0].value.a = (uint32_t)plugin_command;
	op.params[0].value.b = argument;
	if (kind == MEMORY_ALLOCATED) {
		shm.size = bytes;
		shm.flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT;
		res = TEEC_AllocateSharedMemory(&context, &shm);
		data = shm.buffer;
	} else if (kind != MEMORY_NONE) {
		data = malloc(bytes ? bytes : 1);
		if (kind == MEMORY_REGISTERED) {
			shm.buffer = data;
			shm.size = bytes;
			shm.flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT;
			res = TEEC_RegisterSharedMemory(&context, &shm);
		}
	}
	if (res != TEEC_SUCCESS) {
		line("{\"event\":\"ocall\",\"result\":\"0x%08x\",\"origin\":0,\"stage\":\"shared memory\"}", res);
		return 1;
	}
	if (data)
		memcpy(data, sent, bytes);
	if (kind == MEMORY_TEMPORARY) {
		op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_VALUE_OUTPUT, TEEC_MEMREF_TEMP_INOUT, TEEC_NONE);
		op.params[2].tmpref.buffer = data;
		op.params[2].tmpref.size = bytes;
	} else if (kind != MEMORY_NONE) {
		op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_VALUE_OUTPUT, TEEC_MEMREF_WHOLE, TEEC_NONE);
		op.params[2].memref.parent = &shm;
	}

	if (cancel_ms >= 0 && pthread_create(&canceller, NULL, cancel_later, &cancel))
		return 2;
	start = now();
	line("{\"event\":\"invoking\",\"pid\":%d,\"at\":%.6f}", (int)getpid(), start);
	res = TEEC_InvokeCommand(&session, TEEHARNESS_CMD_OCALL, &op, &origin);
	end = now();
	if (kind == MEMORY_TEMPORARY)
		returned = op.params[2].tmpref.size;
	else if (kind != MEMORY_NONE)
		returned = op.params[2].memref.size;
	intact = res == TEEC_SUCCESS && returned == bytes && (!bytes || !memcmp(data, sent, bytes));
	line("{\"event\":\"ocall\",\"command\":\"%s\",\"memory\":\"%s\",\"result\":\"0x%08x\",\"origin\":%u,"
	     "\"plugin\":\"0x%08x\",\"bytes\":%zu,\"returned\":%zu,\"intact\":%s,\"sum\":%u,\"start\":%.6f,"
	     "\"end\":%.6f,\"ta_ms\":%u}",
	     plugin_commands[plugin_command], memory_kinds[kind], res, origin, op.params[1].value.b, bytes, returned,
	     intact ? "true" : "false", sum, start, end, op.params[1].value.a);
	if (cancel_ms >= 0)
		pthread_join(canceller, NULL);
	if (kind == MEMORY_REGISTERED || kind == MEMORY_ALLOCATED)
		TEEC_ReleaseSharedMemory(&shm);
	TEEC_CloseSession(&session);
	TEEC_FinalizeContext(&context);
	return intact || (res == TEEC_SUCCESS && kind == MEMORY_NONE) ? 0 : 1;
}

static int pin(int cpu)
{
	struct sched_param fifo = { .sched_priority = 1 };
	cpu_set_t only;
	double asked = 0, ran = 0;
	int from = -1, on = -1;

	if (sched_setscheduler(0, SCHED_FIFO, &fifo)) {
		line("{\"event\":\"pinned\",\"cpu\":%d,\"error\":\"sched_setscheduler: %s\"}", cpu, strerror(errno));
		return 1;
	}
	CPU_ZERO(&only);
	CPU_SET(cpu, &only);
	from = sched_getcpu();
	asked = now();
	if (sched_setaffinity(0, sizeof(only), &only)) {
		line("{\"event\":\"pinned\",\"cpu\":%d,\"error\":\"sched_setaffinity: %s\"}", cpu, strerror(errno));
		return 1;
	}
	ran = now();
	on = sched_getcpu();
	line("{\"event\":\"pinned\",\"cpu\":%d,\"from\":%d,\"on\":%d,\"asked\":%.6f,\"ran\":%.6f}", cpu, from, on, asked,
	     ran);
	return on == cpu ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: teeharness-client calls [-n COUNT] [-c return|wait|spin|panic] [-m MS] [-g GOFILE]\n"
			"       teeharness-client hold [-n SESSIONS]\n"
			"       teeharness-client ocall [-c echo|sleep|hang|crash] [-m MS]"
			" [-s none|registered|temporary|allocated] [-b BYTES] [-x CANCEL_MS]\n"
			"       teeharness-client pin CPU\n");
	return 64;
}

int main(int argc, char *argv[])
{
	uint32_t command = TEEHARNESS_CMD_RETURN;
	int is_ocall = argc >= 2 && !strcmp(argv[1], "ocall");
	int plugin_command = TEEHARNESS_PLUGIN_ECHO;
	int memory = MEMORY_NONE;
	size_t bytes = 0;
	int cancel_ms = -1;
	uint32_t ms = 0;
	int count = 1;
	int opt = 0;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "pin")) {
		char *end = NULL;
		long cpu = argc == 3 ? strtol(argv[2], &end, 10) : -1;

		return cpu >= 0 && cpu < CPU_SETSIZE && end && !*end && end != argv[2] ? pin((int)cpu) : usage();
	}
	optind = 2;
	while ((opt = getopt(argc, argv, "n:c:m:g:s:b:x:")) != -1) {
		switch (opt) {
		case 'g': go_file = optarg; break;
		case 'n': count = atoi(optarg); break;
		case 'm': ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': bytes = strtoul(optarg, NULL, 10); break;
		case 'x': cancel_ms = atoi(optarg); break;
		case 's':
			memory = lookup(optarg, memory_kinds, 4);
			if (memory < 0)
				return usage();
			break;
		case 'c':
			if (is_ocall)
				plugin_command = lookup(optarg, plugin_commands, 4);
			if (is_ocall ? plugin_command < 0 : command_number(optarg, &command))
				return usage();
			break;
		default: return usage();
		}
	}
	if (is_ocall)
		return ocall(plugin_command, ms, memory, bytes, cancel_ms);
	if (count < 1 || count > 256)
		return usage();
	if (!strcmp(argv[1], "calls"))
		return calls(count, command, ms);
	if (!strcmp(argv[1], "hold"))
		return hold(count);
	return usage();
}
