/* Stand-in for ESP-IDF v6 components/soc/esp32/include/soc/soc_caps.h (the classic ESP32's RMT). */
#pragma once

#define SOC_RMT_SUPPORTED					1
#define SOC_RMT_GROUPS						1
#define SOC_RMT_CHANNELS_PER_GROUP			8
#define SOC_RMT_MEM_WORDS_PER_CHANNEL		64
#define SOC_GPIO_PIN_COUNT					40
