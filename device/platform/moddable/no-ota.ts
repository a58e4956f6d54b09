// The lin (mcsim) build has no OTA partitions: the firmware there takes no updates.
import type { OtaFlash, OtaRecordStore } from 'protocol/ota/installer';

export function createOta(): { flash: OtaFlash; store: OtaRecordStore; rollbackIfRequested(): void } | undefined {
  return undefined;
}
