/*
 * Stand-in for the Moddable SDK 8.2.3 modules/io/common/builtinCommon.h (ESP32 branch): pin
 * bookkeeping shared by the ECMA-419 IO classes.
 */
#ifndef __BUILTINCOMMON_H__
#define __BUILTINCOMMON_H__

#include "freertos/FreeRTOS.h"

#define kPinBanks (2)

extern portMUX_TYPE gCommonCriticalMux;
#define builtinCriticalSectionBegin() portENTER_CRITICAL(&gCommonCriticalMux)
#define builtinCriticalSectionEnd() portEXIT_CRITICAL(&gCommonCriticalMux)

#ifdef __cplusplus
extern "C" {
#endif

void builtinGetFormat(xsMachine *the, uint8_t format);
uint8_t builtinSetFormat(xsMachine *the);
int32_t builtinGetSignedInteger(xsMachine *the, xsSlot *slot);
uint32_t builtinGetUnsignedInteger(xsMachine *the, xsSlot *slot);
xsSlot *builtinGetCallback(xsMachine *the, xsIdentifier id);

#ifdef __cplusplus
}
#endif

#define builtinIsPinFree(pin) builtinArePinsFree(pin >> 5, 1 << (pin & 0x1F))
#define builtinUsePin(pin) builtinUsePins(pin >> 5, 1 << (pin & 0x1F))
#define builtinFreePin(pin) builtinFreePins(pin >> 5, 1 << (pin & 0x1F))

uint8_t builtinArePinsFree(uint32_t bank, uint32_t pin);
uint8_t builtinUsePins(uint32_t bank, uint32_t pin);
void builtinFreePins(uint32_t bank, uint32_t pin);

#define builtinGetPin(the, slot) builtinGetUnsignedInteger(the, slot)

#define builtinInitIO()

#endif
