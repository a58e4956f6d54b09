// Per-device settings in NVS through Moddable's `preference`, domain "canopy". Keys are at most
// 15 characters on ESP32 (an NVS limit), which every OVERRIDABLE key in device/config.ts respects.
import Preference from 'preference';
import type { DeviceStorage } from '../types';

const DOMAIN = 'canopy';

export const preferenceStorage: DeviceStorage = {
  get(key) {
    const v = Preference.get(DOMAIN, key);
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
  },
  set(key, value) {
    Preference.set(DOMAIN, key, value);
  },
  delete(key) {
    Preference.delete(DOMAIN, key);
  },
  // NVS blobs (the TLS certificate and key `canopy provision` writes) come back as ArrayBuffer.
  getBytes(key) {
    const v = Preference.get(DOMAIN, key);
    return v instanceof ArrayBuffer ? v : undefined;
  },
};
