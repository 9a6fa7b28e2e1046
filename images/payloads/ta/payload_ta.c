/* The harness's payload trusted application: calls that wait, spin, panic, return or call out, on demand. */
#include <tee_internal_api.h>
#include <tee_internal_api_extensions.h>
#include <teeharness_payload.h>

static uint32_t now_ms(void)
{
	TEE_Time t = { };

	TEE_GetSystemTime(&t);
	return t.seconds * 1000 + t.millis;
}

/* `rounds` turns of a loop of plain instructions: no system call, nothing the compiler may drop. */
static void compute(uint64_t rounds)
{
	for (uint64_t i = 0; i < rounds; i++)
		__asm__ volatile("" : : "r"(i) : "memory");
}

TEE_Result TA_CreateEntryPoint(void) { return TEE_SUCCESS; }
void TA_DestroyEntryPoint(void) { }

TEE_Result TA_OpenSessionEntryPoint(uint32_t types __unused, TEE_Param params[4] __unused, void **session __unused)
{
	return TEE_SUCCESS;
}

void TA_CloseSessionEntryPoint(void *session __unused) { }

/* The largest buffer an OCALL carries (the TA copies it into its own memory first). */
#define OCALL_MAX_BYTES 4096

/*
 * Calls the harness's tee-supplicant plugin with the bytes of `buffer` (which may be NULL) and stores what it
 * sent back there. Returns what the call returned; `plugin` gets the same (the client sees it in param 1 b).
 */
static TEE_Result ocall(uint32_t command, uint32_t argument, TEE_Param *buffer, uint32_t *plugin)
{
	static const TEE_UUID uuid = TEEHARNESS_PLUGIN_UUID;
	/* Without a buffer of the client's, the TA sends bytes of its own. */
	size_t len = buffer ? buffer->memref.size : 16;
	size_t out = 0;
	uint8_t *copy = NULL;
	TEE_Result res = TEE_SUCCESS;

	if (len > OCALL_MAX_BYTES)
		return TEE_ERROR_EXCESS_DATA;
	copy = TEE_Malloc(len ? len : 1, TEE_MALLOC_FILL_ZERO);
	if (!copy)
		return TEE_ERROR_OUT_OF_MEMORY;
	if (buffer && len)
		TEE_MemMove(copy, buffer->memref.buffer, len);
	res = tee_invoke_supp_plugin(&uuid, command, argument, copy, len, &out);
	*plugin = res;
	if (res == TEE_SUCCESS && buffer) {
		if (out > len) {
			res = TEE_ERROR_SHORT_BUFFER;
		} else {
			TEE_MemMove(buffer->memref.buffer, copy, out);
			buffer->memref.size = out;
		}
	}
	TEE_Free(copy);
	return res;
}

TEE_Result TA_InvokeCommandEntryPoint(void *session __unused, uint32_t cmd, uint32_t types, TEE_Param params[4])
{
	const uint32_t expected = TEE_PARAM_TYPES(TEE_PARAM_TYPE_VALUE_INPUT, TEE_PARAM_TYPE_VALUE_OUTPUT,
						  TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE);
	const uint32_t with_buffer = TEE_PARAM_TYPES(TEE_PARAM_TYPE_VALUE_INPUT, TEE_PARAM_TYPE_VALUE_OUTPUT,
						     TEE_PARAM_TYPE_MEMREF_INOUT, TEE_PARAM_TYPE_NONE);
	const uint32_t with_times = TEE_PARAM_TYPES(TEE_PARAM_TYPE_VALUE_INPUT, TEE_PARAM_TYPE_VALUE_OUTPUT,
						    TEE_PARAM_TYPE_VALUE_OUTPUT, TEE_PARAM_TYPE_NONE);
	TEE_Result res = TEE_SUCCESS;
	uint32_t plugin = 0;
	uint32_t start = 0;
	uint32_t end = 0;
	uint32_t ms = 0;

	if (types != expected && types != with_times && !(cmd == TEEHARNESS_CMD_OCALL && types == with_buffer))
		return TEE_ERROR_BAD_PARAMETERS;
	ms = params[0].value.a;
	start = now_ms();

	switch (cmd) {
	case TEEHARNESS_CMD_RETURN:
		break;
	case TEEHARNESS_CMD_WAIT:
		res = TEE_Wait(ms);
		break;
	case TEEHARNESS_CMD_SPIN:
		while (now_ms() - start < ms)
			;
		break;
	case TEEHARNESS_CMD_COMPUTE:
		/* Here `ms` counts units of TEEHARNESS_COMPUTE_UNIT turns. */
		compute((uint64_t)ms * TEEHARNESS_COMPUTE_UNIT);
		break;
	case TEEHARNESS_CMD_PANIC:
		TEE_Panic(0x7ea);
		break;
	case TEEHARNESS_CMD_OCALL:
		res = ocall(params[0].value.a, params[0].value.b, types == with_buffer ? &params[2] : NULL, &plugin);
		break;
	default:
		return TEE_ERROR_NOT_SUPPORTED;
	}
	end = now_ms();
	params[1].value.a = end - start;
	params[1].value.b = cmd == TEEHARNESS_CMD_OCALL ? plugin : params[0].value.b;
	if (types == with_times) {
		params[2].value.a = start;
		params[2].value.b = end;
	}
	return res;
}
