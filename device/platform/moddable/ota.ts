// OTA on the ESP32 firmware: the update slot through the native module device/native/ota-slot/ota-slot,
// the installer's records in NVS, and the rollback done at restart, after the app has told the
// broker why (esp_ota_mark_app_invalid_rollback_and_reboot reboots at once).
import OtaSlot from 'device/native/ota-slot/ota-slot';
import Preference from 'preference';
import type { OtaFlash, OtaRecordStore } from 'protocol/ota/installer';

const DOMAIN = 'canopy-ota';
/** Under the NVS blob limit Moddable's preference accepts per value. */
const PIECE = 1984;

/** Records in NVS, split into pieces: a chunk table for a 1.5 MB image is about 12 KB. */
export const nvsRecords: OtaRecordStore = {
  load(key) {
    const count = Preference.get(DOMAIN, `${key}.n`);
    if (typeof count !== 'number') return undefined;
    const pieces: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const v = Preference.get(DOMAIN, `${key}.${i}`);
      if (!(v instanceof ArrayBuffer)) return undefined; // torn by a power cut: as if never saved
      pieces.push(new Uint8Array(v));
      total += v.byteLength;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of pieces) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  },
  save(key, bytes) {
    const count = Math.ceil(bytes.length / PIECE);
    // The count goes last and is cleared first, so a cut save reads back as no record.
    Preference.delete(DOMAIN, `${key}.n`);
    for (let i = 0; i < count; i++) Preference.set(DOMAIN, `${key}.${i}`, bytes.slice(i * PIECE, (i + 1) * PIECE).buffer);
    Preference.set(DOMAIN, `${key}.n`, count);
  },
};

let rollbackRequested = false;

// Made when the app asks, not when the module loads: the firmware preloads this module at build
// time, where the slot's native functions cannot run (xsl: "link: unavailable function").
function slotFlash(): OtaFlash {
  return {
    slotSize: OtaSlot.slotSize(),
    begin: (size) => OtaSlot.begin(size),
    resume: () => OtaSlot.resume(),
    write: (offset, bytes) => OtaSlot.write(offset, bytes),
    read: (offset, length) => new Uint8Array(OtaSlot.read(offset, length)),
    complete: () => OtaSlot.complete(),
    abort: () => OtaSlot.abort(),
    runningState: () => (OtaSlot.state() === 1 ? 'pending-verify' : 'valid'),
    markValid: () => OtaSlot.markValid(),
    markInvalid: () => {
      rollbackRequested = true;
    },
  };
}

/** At restart: roll back if the installer rejected the running image. Returns only if not. */
export function rollbackIfRequested(): void {
  if (rollbackRequested) OtaSlot.rollback();
}

export function createOta(): { flash: OtaFlash; store: OtaRecordStore; rollbackIfRequested(): void } {
  return { flash: slotFlash(), store: nvsRecords, rollbackIfRequested };
}
