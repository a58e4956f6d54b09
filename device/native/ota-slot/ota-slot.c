/*
 * canopy/ota-slot: the ESP-IDF calls Canopy's OTA installer needs beyond Moddable's
 * embedded:update. embedded:update always erases at open (so a transfer cut by a reboot could
 * not resume) and offers no read-back and no rollback control. Here:
 *   begin(size)   esp_ota_begin(next, size): erases what the image needs
 *   resume()      esp_ota_begin(next, OTA_WITH_SEQUENTIAL_WRITES): reopens WITHOUT erasing; the
 *                 earlier begin already erased the image range, so offset writes stay valid
 *   write(o, b)   esp_ota_write_with_offset         read(o, n)  esp_partition_read
 *   complete()    esp_ota_end + esp_ota_set_boot_partition         abort()  esp_ota_abort
 *   state()       esp_ota_get_state_partition(running): 1 = pending verify, 0 otherwise
 *   markValid()   esp_ota_mark_app_valid_cancel_rollback
 *   rollback()    esp_ota_mark_app_invalid_rollback_and_reboot (does not return on success)
 * Needs CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y (device/sdkconfig/sdkconfig.defaults).
 */
#include "xsmc.h"
#include "mc.xs.h"
#include "xsHost.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"

static esp_ota_handle_t gOta = 0;
/* The slot being written. Not named gPartition: the SDK's esp xsHost.h declares
 * `extern const esp_partition_t *gPartition` (the partition holding the XS archive), and a static of
 * that name does not compile (test/native-c.test.ts). */
static const esp_partition_t *gSlot = NULL;

static const esp_partition_t *nextPartition(xsMachine *the)
{
	const esp_partition_t *p = esp_ota_get_next_update_partition(NULL);
	if (!p)
		xsUnknownError("no OTA update partition (build with ota autosplit)");
	return p;
}

static void check(xsMachine *the, esp_err_t err, const char *what)
{
	if (ESP_OK != err)
		xsUnknownError("%s failed: %s", what, esp_err_to_name(err));
}

void xs_canopy_ota_slot_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, nextPartition(the)->size);
}

/* Opens the next slot; a handle still open from an abandoned transfer is dropped first. */
static void openSlot(xsMachine *the, uint32_t size, const char *what)
{
	const esp_partition_t *p = nextPartition(the);
	if (gOta) {
		esp_ota_abort(gOta);
		gOta = 0;
	}
	check(the, esp_ota_begin(p, size, &gOta), what);
	gSlot = p;
}

void xs_canopy_ota_begin(xsMachine *the)
{
	openSlot(the, (uint32_t)xsmcToInteger(xsArg(0)), "esp_ota_begin");
}

void xs_canopy_ota_resume(xsMachine *the)
{
	openSlot(the, OTA_WITH_SEQUENTIAL_WRITES, "esp_ota_begin (resume)");
}

void xs_canopy_ota_write(xsMachine *the)
{
	void *data;
	xsUnsignedValue size;
	uint32_t offset = (uint32_t)xsmcToInteger(xsArg(0));
	if (!gOta)
		xsUnknownError("write to an OTA slot that is not open");
	xsmcGetBufferReadable(xsArg(1), &data, &size);
	check(the, esp_ota_write_with_offset(gOta, data, size, offset), "esp_ota_write_with_offset");
}

void xs_canopy_ota_read(xsMachine *the)
{
	uint32_t offset = (uint32_t)xsmcToInteger(xsArg(0));
	uint32_t length = (uint32_t)xsmcToInteger(xsArg(1));
	const esp_partition_t *p = gSlot ? gSlot : nextPartition(the);
	if ((offset + length) > p->size)
		xsRangeError("read past the end of the OTA slot");
	xsmcSetArrayBuffer(xsResult, NULL, length);
	check(the, esp_partition_read(p, offset, xsmcToArrayBuffer(xsResult), length), "esp_partition_read");
}

void xs_canopy_ota_complete(xsMachine *the)
{
	if (!gOta)
		xsUnknownError("complete on an OTA slot that is not open");
	esp_err_t err = esp_ota_end(gOta);
	gOta = 0;
	check(the, err, "esp_ota_end");
	check(the, esp_ota_set_boot_partition(gSlot), "esp_ota_set_boot_partition");
}

void xs_canopy_ota_abort(xsMachine *the)
{
	if (gOta)
		esp_ota_abort(gOta);
	gOta = 0;
}

void xs_canopy_ota_state(xsMachine *the)
{
	esp_ota_img_states_t state;
	const esp_partition_t *running = esp_ota_get_running_partition();
	if (ESP_OK != esp_ota_get_state_partition(running, &state))
		state = ESP_OTA_IMG_UNDEFINED;	/* a factory image has no OTA state: it is valid */
	xsmcSetInteger(xsResult, (ESP_OTA_IMG_PENDING_VERIFY == state) ? 1 : 0);
}

void xs_canopy_ota_mark_valid(xsMachine *the)
{
	check(the, esp_ota_mark_app_valid_cancel_rollback(), "esp_ota_mark_app_valid_cancel_rollback");
}

void xs_canopy_ota_rollback(xsMachine *the)
{
	check(the, esp_ota_mark_app_invalid_rollback_and_reboot(), "esp_ota_mark_app_invalid_rollback_and_reboot");
}
