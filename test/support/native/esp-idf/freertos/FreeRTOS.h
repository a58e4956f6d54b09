/* Stand-in for ESP-IDF v6 FreeRTOS (components/freertos): the types and macros the modules and the
 * SDK's esp xsHost.h use. Queue calls are macros over the generic functions, as in FreeRTOS. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "esp_attr.h"

typedef int BaseType_t;
typedef unsigned int UBaseType_t;
typedef uint32_t TickType_t;

#define pdFALSE		((BaseType_t)0)
#define pdTRUE		((BaseType_t)1)
#define pdPASS		pdTRUE
#define pdFAIL		pdFALSE

#define configTICK_RATE_HZ		1000
#define portMAX_DELAY			((TickType_t)0xffffffffUL)
#define pdMS_TO_TICKS(xTimeInMs)	((TickType_t)(((TickType_t)(xTimeInMs) * (TickType_t)configTICK_RATE_HZ) / (TickType_t)1000U))
#define pdTICKS_TO_MS(xTicks)		((TickType_t)(((uint64_t)(xTicks) * (uint64_t)1000U) / (uint64_t)configTICK_RATE_HZ))

typedef struct {
	uint32_t owner;
	uint32_t count;
} portMUX_TYPE;

void vPortEnterCriticalSafe(portMUX_TYPE *mux);
void vPortExitCriticalSafe(portMUX_TYPE *mux);
#define portENTER_CRITICAL(mux)			vPortEnterCriticalSafe(mux)
#define portEXIT_CRITICAL(mux)			vPortExitCriticalSafe(mux)
#define portENTER_CRITICAL_SAFE(mux)	vPortEnterCriticalSafe(mux)
#define portEXIT_CRITICAL_SAFE(mux)		vPortExitCriticalSafe(mux)
