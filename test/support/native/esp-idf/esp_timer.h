/* Stand-in for ESP-IDF v6 components/esp_timer/include/esp_timer.h (declarations only). */
#pragma once
#include <stdint.h>

int64_t esp_timer_get_time(void);
