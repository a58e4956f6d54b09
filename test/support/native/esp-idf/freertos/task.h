/* Stand-in for ESP-IDF v6 freertos/task.h (declarations only). */
#pragma once
#include "freertos/FreeRTOS.h"

typedef struct tskTaskControlBlock *TaskHandle_t;

TickType_t xTaskGetTickCount(void);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
void vTaskDelay(const TickType_t xTicksToDelay);
