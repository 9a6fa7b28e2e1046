#ifndef USER_TA_HEADER_DEFINES_H
#define USER_TA_HEADER_DEFINES_H

#include <teeharness_payload.h>

#define TA_UUID TEEHARNESS_TA_UUID
/* Multi-instance: every session has its own instance, so calls on different sessions run concurrently. */
#define TA_FLAGS 0
#define TA_STACK_SIZE (4 * 1024)
#define TA_DATA_SIZE (16 * 1024)

#endif
