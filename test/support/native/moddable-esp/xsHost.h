/*
 * Stand-in for the Moddable SDK 8.2.3 xs/platforms/esp/xsHost.h, as compiled with -DESP32=1: the
 * declarations a native module can meet. @agoric/xsnap ships only the generic xsHost.h, which lacks
 * them. Keep the names and storage classes exactly as the SDK has them: the point of this file is
 * that a module redeclaring one of them (as ota-slot.c once did with gPartition) fails here as it
 * fails in the real ESP32 build.
 */
#ifndef __XS6ESP__
#define __XS6ESP__

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <setjmp.h>
#include <string.h>

#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#if ESP32 == 1
	#define kCPUESP32	1
	#define kTargetCPUCount 2
#else
	#error "this stand-in models the classic ESP32 (ESP32=1)"
#endif

/* link locations */
#define ICACHE_RODATA_ATTR __attribute__((section(".rodata")))
#define ICACHE_XS6RO_ATTR __attribute__((section(".rodata.xs6ro"))) __attribute__((aligned(4)))
#define ICACHE_XS6RO2_ATTR __attribute__((section(".rodata.xs6ro2"))) __attribute__((aligned(4)))
#define ICACHE_XS6STRING_ATTR __attribute((section(".rodata.str1.4"))) __attribute__((aligned(4)))

#ifdef __cplusplus
extern "C" {
#endif

/* report */
extern void modLog_transmit(const char *msg);
#define modLog(msg) \
	do { \
		static const char scratch[] = msg ; \
		modLog_transmit(scratch); \
	} while (0)
#define modLogVar(msg) modLog_transmit(msg)

/* timer */
#define modMilliseconds() ((uint32_t)pdTICKS_TO_MS(xTaskGetTickCount()))
#define modMicroseconds() ((uint32_t)esp_timer_get_time())
#define modDelayMilliseconds(ms) vTaskDelay(pdMS_TO_TICKS(ms))
#define modDelayMicroseconds(us) vTaskDelay(pdMS_TO_TICKS(((us) + 500) / 1000))
extern void modTimersExecute(void);
extern int modTimersNext(void);

/* critical section */
#define modCriticalSectionDeclare
extern portMUX_TYPE gCriticalMux;
#define modCriticalSectionBegin() vPortEnterCriticalSafe(&gCriticalMux)
#define modCriticalSectionEnd() vPortExitCriticalSafe(&gCriticalMux)

/* messages */
typedef void (*modMessageDeliver)(void *the, void *refcon, uint8_t *message, uint16_t messageLength);
#if defined(__XS__)
	int modMessagePostToMachine(xsMachine *the, uint8_t *message, uint16_t messageLength, modMessageDeliver callback, void *refcon);
	int modMessagePostToMachineFromISR(xsMachine *the, modMessageDeliver callback, void *refcon);
	void modMessageService(xsMachine *the, int maxDelayMS);
#endif

extern uint8_t gSoftReset;
#define modSoftReset() gSoftReset = 1

/* flash: the partition that holds the XS archive (mod) */
#include "esp_partition.h"

extern const esp_partition_t *gPartition;
extern const uint8_t *gPartitionAddress;

#define kModulesStart (gPartitionAddress)
#define kModulesByteLength (gPartition ? gPartition->size : 0)
#define kModulesEnd (kModulesStart + kModulesByteLength)
#define kFlashSectorSize (4096)

uint8_t modSPIRead(uint32_t offset, uint32_t size, uint8_t *dst);
uint8_t modSPIWrite(uint32_t offset, uint32_t size, const uint8_t *src);
uint8_t modSPIErase(uint32_t offset, uint32_t size);

#ifdef __cplusplus
}
#endif

#endif
