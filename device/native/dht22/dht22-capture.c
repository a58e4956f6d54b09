/*
 * canopy/dht22-capture — measures one DHT22 / AM2302 frame on an ESP32 with the RMT receiver
 * (ESP-IDF v6 `driver/rmt_rx.h`, component esp_driver_rmt) and returns its level widths in µs.
 * Decoding (bits, checksum, sign-magnitude temperature, ranges, the 2 s rule) is TypeScript:
 * device/drivers/dht22-frame.ts. Keeping this side to "measure widths" keeps it small enough to
 * review without hardware. npm test syntax-checks it against the XS headers and stand-ins for the
 * ESP-IDF API (test/native-c.test.ts, docs/native.md); it has not been built with ESP-IDF itself.
 *
 * Why RMT: it timestamps every edge in hardware at 1 µs, so the 5 ms frame needs neither interrupts
 * off (Wi-Fi keeps running) nor a busy loop sampling the pin.
 *
 * One read():
 *   1. pull the line low 1.1 ms (open drain; datasheet: ≥ 1 ms),
 *   2. arm the receiver while the line is still low, so no edge of the answer can be missed,
 *   3. release the line; the sensor answers 20–200 µs later: 80 low, 80 high, 40 × (50 low, 26|70
 *      high), 50 low, then the line idles high and the receiver stops after kIdleNs,
 *   4. flatten the symbols into widths, dropping everything up to and including the first high
 *      level (the line's release; whether the receiver also recorded the tail of our own low pulse
 *      depends on when it starts counting, and this rule covers both) and the final low (the
 *      sensor's end-of-frame pulse).
 * A complete frame is therefore 82 widths; a silent sensor gives 0.
 */

#include "xsmc.h"
#include "xsHost.h"
#include "mc.xs.h"			// xsID_* values
#include "builtinCommon.h"

#include "soc/soc_caps.h"

#if SOC_RMT_SUPPORTED

#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "driver/gpio.h"
#include "driver/rmt_rx.h"
#include "esp_heap_caps.h"
#include "esp_rom_sys.h"

#define kStartLowUs		1100
#define kResolutionHz	1000000		// 1 tick = 1 µs
#define kGlitchNs		2000		// shorter pulses are noise; the RMT filter register tops out near 3 µs
#define kIdleNs			250000		// longer than any level of a frame (the release wait is ≤ 200 µs)
#define kSymbols		64			// even and ≥ SOC_RMT_MEM_WORDS_PER_CHANNEL on every ESP32; a frame is ~43
#define kWaitMs			20			// a frame takes ~5.3 ms
#define kMaxWidths		(2 * kSymbols)

typedef struct {
	int						pin;
	bool					usesPin;
	rmt_channel_handle_t	channel;
	QueueHandle_t			done;		// num_symbols from the ISR callback
	rmt_symbol_word_t		symbols[kSymbols];
} Dht22CaptureRecord, *Dht22Capture;

void xs_dht22capture_destructor(void *data);

static const xsHostHooks ICACHE_RODATA_ATTR xsDht22CaptureHooks = {
	xs_dht22capture_destructor,
	NULL,
	NULL
};

static bool IRAM_ATTR dht22RxDone(rmt_channel_handle_t channel, const rmt_rx_done_event_data_t *event, void *context)
{
	Dht22Capture dc = context;
	BaseType_t woken = pdFALSE;
	size_t count = event->num_symbols;
	xQueueOverwriteFromISR(dc->done, &count, &woken);
	return woken == pdTRUE;
}

void xs_dht22capture_constructor(xsMachine *the)
{
	Dht22Capture dc;
	int pin;

	xsmcVars(1);
	if (!xsmcHas(xsArg(0), xsID_pin))
		xsRangeError("pin required");
	xsmcGet(xsVar(0), xsArg(0), xsID_pin);
	pin = builtinGetPin(the, &xsVar(0));
	if (!GPIO_IS_VALID_OUTPUT_GPIO(pin))
		xsRangeError("invalid pin");
	if (!builtinIsPinFree(pin))
		xsRangeError("in use");

	// Internal RAM: the RMT ISR copies received symbols into dc->symbols.
	dc = heap_caps_calloc(1, sizeof(Dht22CaptureRecord), MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
	if (!dc)
		xsRangeError("no memory");
	dc->pin = pin;
	dc->usesPin = true;
	builtinUsePin(pin);
	dc->done = xQueueCreate(1, sizeof(size_t));

	rmt_rx_channel_config_t config = {
		.gpio_num = pin,
		.clk_src = RMT_CLK_SRC_DEFAULT,
		.resolution_hz = kResolutionHz,
		.mem_block_symbols = kSymbols,
	};
	rmt_rx_event_callbacks_t callbacks = {
		.on_recv_done = dht22RxDone,
	};
	if (!dc->done
		|| (ESP_OK != rmt_new_rx_channel(&config, &dc->channel))
		|| (ESP_OK != rmt_rx_register_event_callbacks(dc->channel, &callbacks, dc))
		|| (ESP_OK != rmt_enable(dc->channel))) {
		xs_dht22capture_destructor(dc);
		xsUnknownError("no RMT RX channel");
	}

	// The host only ever pulls low: open drain, released = high through the pull-up (the module's
	// 4.7–10 kΩ; the internal ~45 kΩ alone is too weak for long wires). Since ESP-IDF v6 an RMT RX
	// channel and a GPIO output may share the pin without io_loop_back.
	gpio_set_level(pin, 1);
	gpio_set_direction(pin, GPIO_MODE_INPUT_OUTPUT_OD);
	gpio_set_pull_mode(pin, GPIO_PULLUP_ONLY);

	xsmcSetHostData(xsThis, dc);
	xsSetHostHooks(xsThis, (xsHostHooks *)&xsDht22CaptureHooks);
}

void xs_dht22capture_destructor(void *data)
{
	Dht22Capture dc = data;
	if (!dc)
		return;
	if (dc->channel) {
		rmt_disable(dc->channel);
		rmt_del_channel(dc->channel);
		gpio_set_direction(dc->pin, GPIO_MODE_INPUT);
	}
	if (dc->usesPin)
		builtinFreePin(dc->pin);
	if (dc->done)
		vQueueDelete(dc->done);
	heap_caps_free(dc);
}

void xs_dht22capture_close(xsMachine *the)
{
	Dht22Capture dc = xsmcGetHostData(xsThis);
	if (dc && xsmcGetHostDataValidate(xsThis, (void *)&xsDht22CaptureHooks)) {
		xs_dht22capture_destructor(dc);
		xsmcSetHostData(xsThis, NULL);
		xsmcSetHostDestructor(xsThis, NULL);
	}
}

void xs_dht22capture_read(xsMachine *the)
{
	Dht22Capture dc = xsmcGetHostDataValidate(xsThis, (void *)&xsDht22CaptureHooks);
	rmt_receive_config_t receive = {
		.signal_range_min_ns = kGlitchNs,
		.signal_range_max_ns = kIdleNs,
	};
	uint8_t widths[kMaxWidths];
	uint8_t levels[kMaxWidths];
	size_t symbols = 0, count = 0, i, first;

	xQueueReset(dc->done);
	gpio_set_level(dc->pin, 0);
	esp_rom_delay_us(kStartLowUs);
	if (ESP_OK != rmt_receive(dc->channel, dc->symbols, sizeof(dc->symbols), &receive)) {
		gpio_set_level(dc->pin, 1);
		xsUnknownError("rmt receive failed");
	}
	gpio_set_level(dc->pin, 1);

	if (pdTRUE != xQueueReceive(dc->done, &symbols, pdMS_TO_TICKS(kWaitMs))) {
		// Line stuck low (no pull-up, shorted): the receiver never saw the idle that ends a frame.
		// Disabling cancels the pending receive; the caller gets an empty frame ("did not answer").
		rmt_disable(dc->channel);
		rmt_enable(dc->channel);
		symbols = 0;
	}

	for (i = 0; (i < symbols) && (count < kMaxWidths); i++) {
		rmt_symbol_word_t s = dc->symbols[i];
		if (!s.duration0)
			break;						// end marker: the idle level
		widths[count] = (s.duration0 > 255) ? 255 : s.duration0;
		levels[count++] = s.level0;
		if (!s.duration1)
			break;
		widths[count] = (s.duration1 > 255) ? 255 : s.duration1;
		levels[count++] = s.level1;
	}

	for (first = 0; (first < count) && !levels[first]; first++)
		;
	first = (first < count) ? first + 1 : count;	// past the release high (none: nothing answered)
	if ((count > first) && !levels[count - 1])
		count--;									// the end-of-frame low

	xsmcSetArrayBuffer(xsResult, widths + first, count - first);
}

#else // !SOC_RMT_SUPPORTED

void xs_dht22capture_destructor(void *data) {}
void xs_dht22capture_constructor(xsMachine *the) { xsUnknownError("no RMT on this chip"); }
void xs_dht22capture_close(xsMachine *the) {}
void xs_dht22capture_read(xsMachine *the) {}

#endif
