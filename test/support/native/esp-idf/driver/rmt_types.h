/* Stand-in for ESP-IDF v6 components/esp_driver_rmt/include/driver/rmt_types.h (+ hal/rmt_types.h,
 * soc/clk_tree_defs.h for the clock source). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "driver/gpio.h"

typedef enum {
	RMT_CLK_SRC_APB = 4,
	RMT_CLK_SRC_REF_TICK = 8,
	RMT_CLK_SRC_DEFAULT = RMT_CLK_SRC_APB,
} soc_periph_rmt_clk_src_t;
typedef soc_periph_rmt_clk_src_t rmt_clock_source_t;

typedef union {
	struct {
		uint16_t duration0 : 15;
		uint16_t level0 : 1;
		uint16_t duration1 : 15;
		uint16_t level1 : 1;
	};
	uint32_t val;
} rmt_symbol_word_t;

typedef struct rmt_channel_t *rmt_channel_handle_t;

typedef struct {
	rmt_symbol_word_t *received_symbols;
	size_t num_symbols;
	struct extra_rmt_rx_done_event_flags {
		uint32_t is_last: 1;
	} flags;
} rmt_rx_done_event_data_t;

typedef bool (*rmt_rx_done_callback_t)(rmt_channel_handle_t rx_chan, const rmt_rx_done_event_data_t *edata, void *user_ctx);
