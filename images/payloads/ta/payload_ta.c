/* The harness's payload trusted application: calls that wait, spin, panic or return, on demand. */
#include <tee_internal_api.h>
#include <tee_internal_api_extensions.h>
#include <teeharness_payload.h>

static uint32_t now_ms(void)
{
	TEE_Time t = { };

	TEE_GetSystemTime(&t);
	return t.seconds * 1000 + t.millis;
}

TEE_Result TA_CreateEntryPoint(void) { return TEE_SUCCESS; }
void TA_DestroyEntryPoint(void) { }

TEE_Result TA_OpenSessionEntryPoint(uint32_t types __unused, TEE_Param params[4] __unused, void **session __unused)
{
	return TEE_SUCCESS;
}

void TA_CloseSessionEntryPoint(void *session __unused) { }

TEE_Result TA_InvokeCommandEntryPoint(void *session __unused, uint32_t cmd, uint32_t types, TEE_Param params[4])
{
	const uint32_t expected = TEE_PARAM_TYPES(TEE_PARAM_TYPE_VALUE_INPUT, TEE_PARAM_TYPE_VALUE_OUTPUT,
						  TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE);
	TEE_Result res = TEE_SUCCESS;
	uint32_t start = 0;
	uint32_t ms = 0;

	if (types != expected)
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
	case TEEHARNESS_CMD_PANIC:
		TEE_Panic(0x7ea);
		break;
	default:
		return TEE_ERROR_NOT_SUPPORTED;
	}
	params[1].value.a = now_ms() - start;
	params[1].value.b = params[0].value.b;
	return res;
}
