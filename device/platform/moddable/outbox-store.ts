// The firmware's OutboxStore: the flash ring of protocol/session/outbox-log.ts over the flash area
// that the platform provides (manifest.json picks one per platform):
//   esp32  device/platform/moddable/flash-outbox-area.ts  the raw "storage" partition (`flash`)
//   lin    device/platform/moddable/file-outbox-area.ts   a file of the same size (`file`)
// Both are 16 sectors of 4 KB. A QoS 1 message costs one flash write (its enqueue, carrying the
// previous message's ack) and 1/50 of a sector erase; docs/device-outbox.md has the figures.
import { FlashOutboxStore, type FlashArea } from '../../../protocol/session/outbox-log';

/** Largest record stored: a message of up to 490 bytes of topic and payload. */
const MAX_RECORD_BYTES = 512;

export function openOutboxStore(area: FlashArea): FlashOutboxStore {
  return new FlashOutboxStore(area, { maxRecordBytes: MAX_RECORD_BYTES });
}
