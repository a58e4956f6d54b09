/* Stand-in for ESP-IDF v6 components/esp_rom/include/esp_rom_sys.h (declarations only). */
#pragma once
#include <stdint.h>

void esp_rom_delay_us(uint32_t us);
