/* Stand-in for ESP-IDF v6 components/esp_driver_gpio/include/driver/gpio.h (+ hal/gpio_types.h). */
#pragma once
#include <stdint.h>
#include "esp_err.h"
#include "soc/soc_caps.h"

typedef enum {
	GPIO_NUM_NC = -1,
	GPIO_NUM_0 = 0,
	GPIO_NUM_MAX = SOC_GPIO_PIN_COUNT,
} gpio_num_t;

#define GPIO_MODE_DEF_DISABLE	(0)
#define GPIO_MODE_DEF_INPUT		(1 << 0)
#define GPIO_MODE_DEF_OUTPUT	(1 << 1)
#define GPIO_MODE_DEF_OD		(1 << 2)

typedef enum {
	GPIO_MODE_DISABLE = GPIO_MODE_DEF_DISABLE,
	GPIO_MODE_INPUT = GPIO_MODE_DEF_INPUT,
	GPIO_MODE_OUTPUT = GPIO_MODE_DEF_OUTPUT,
	GPIO_MODE_OUTPUT_OD = (GPIO_MODE_DEF_OUTPUT | GPIO_MODE_DEF_OD),
	GPIO_MODE_INPUT_OUTPUT_OD = (GPIO_MODE_DEF_INPUT | GPIO_MODE_DEF_OUTPUT | GPIO_MODE_DEF_OD),
	GPIO_MODE_INPUT_OUTPUT = (GPIO_MODE_DEF_INPUT | GPIO_MODE_DEF_OUTPUT),
} gpio_mode_t;

typedef enum {
	GPIO_PULLUP_ONLY,
	GPIO_PULLDOWN_ONLY,
	GPIO_PULLUP_PULLDOWN,
	GPIO_FLOATING,
} gpio_pull_mode_t;

/* On the classic ESP32, GPIOs 34-39 are input only. */
#define SOC_GPIO_VALID_OUTPUT_GPIO_MASK		(0x3FFFFFFFFFULL & ~(0ULL | (1ULL << 34) | (1ULL << 35) | (1ULL << 36) | (1ULL << 37) | (1ULL << 38) | (1ULL << 39)))
#define GPIO_IS_VALID_GPIO(gpio_num)		((gpio_num >= 0) && (gpio_num < SOC_GPIO_PIN_COUNT))
#define GPIO_IS_VALID_OUTPUT_GPIO(gpio_num)	((GPIO_IS_VALID_GPIO(gpio_num)) && (((1ULL << (gpio_num)) & SOC_GPIO_VALID_OUTPUT_GPIO_MASK) != 0))

esp_err_t gpio_set_level(gpio_num_t gpio_num, uint32_t level);
int gpio_get_level(gpio_num_t gpio_num);
esp_err_t gpio_set_direction(gpio_num_t gpio_num, gpio_mode_t mode);
esp_err_t gpio_set_pull_mode(gpio_num_t gpio_num, gpio_pull_mode_t pull);
