// The outbox's flash area on ESP32: the raw data partition "storage" through Moddable's `flash`
// module (modules/files/flash, esp32 only). mcconfig carves that partition, 64 KB, out of the
// factory app partition before the OTA autosplit when the manifest has
// `"defines": {"file": {"partition": "#storage"}}`. Nothing else may use it: the SDK's `file`
// module would format it as SPIFFS.
import Flash from 'flash';
import type { FlashArea } from 'protocol/session/outbox-log';

export function outboxArea(partition = 'storage'): FlashArea {
  const flash = new Flash(partition);
  return {
    byteLength: flash.byteLength,
    blockSize: flash.blockSize,
    read: (offset, byteLength) => flash.read(offset, byteLength) as ArrayBuffer,
    write: (offset, byteLength, buffer) => flash.write(offset, byteLength, buffer),
    erase: (sector) => flash.erase(sector),
  };
}
