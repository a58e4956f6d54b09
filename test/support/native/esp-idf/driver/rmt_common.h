/* Stand-in for ESP-IDF v6 components/esp_driver_rmt/include/driver/rmt_common.h. */
#pragma once
#include "esp_err.h"
#include "driver/rmt_types.h"

esp_err_t rmt_del_channel(rmt_channel_handle_t channel);
esp_err_t rmt_enable(rmt_channel_handle_t channel);
esp_err_t rmt_disable(rmt_channel_handle_t channel);
