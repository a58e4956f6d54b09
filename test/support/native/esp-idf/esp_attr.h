/* Stand-in for ESP-IDF v6 components/esp_common/include/esp_attr.h. */
#pragma once

#define IRAM_ATTR	__attribute__((section(".iram1")))
#define DRAM_ATTR	__attribute__((section(".dram1")))
