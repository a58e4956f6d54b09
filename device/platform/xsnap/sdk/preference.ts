// Moddable's `preference` for the simulator's XS engine (manifest.json's xsnap platform maps
// "preference" here), so the firmware's own settings store (device/platform/moddable/storage.ts)
// runs in the simulator. The values live on the host (sim/xs-device.ts, the device's NVS that
// outlives a power cut) over the bridge's "storage" channel:
//   JSON {op: 'get' | 'set' | 'delete' | 'keys', domain, key?, value?, bytes?} → JSON {value} | {bytes} | {keys} | null
// Strings, numbers and booleans travel as JSON values; a blob (NVS blob: the provisioned TLS
// certificate and key, which the real preference reads as ArrayBuffer) as `bytes`, in hex. The
// host decides what it keeps (sim/xs-device.ts: strings, numbers and booleans; a test may hold
// blobs too).
//
// Module name "preference", so imports are by full module name.
import type SdkPreference from 'preference';
import { callHost } from 'device/platform/xs-bridge';
import { utf8Decode, utf8Encode } from 'protocol/utf8';

type Value = string | boolean | number | ArrayBuffer;

function fromHex(hex: string): ArrayBuffer {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out.buffer;
}

function toHex(buffer: ArrayBuffer): string {
  const b = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] + 0x100).toString(16).slice(1);
  return s;
}

function call<T>(request: { op: string; domain: string; key?: string; value?: Value; bytes?: string }): T {
  const reply = callHost('storage', utf8Encode(JSON.stringify(request)));
  return JSON.parse(utf8Decode(reply)) as T;
}

const Preference = {
  get(domain: string, key: string): Value | undefined {
    const reply = call<{ value?: string | number | boolean; bytes?: string }>({ op: 'get', domain, key });
    return typeof reply.bytes === 'string' ? fromHex(reply.bytes) : reply.value;
  },
  set(domain: string, key: string, value: Value): void {
    if (value instanceof ArrayBuffer) {
      call({ op: 'set', domain, key, bytes: toHex(value) });
      return;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new TypeError(`preference ${domain}/${key}: values are strings, numbers, booleans or ArrayBuffers`);
    }
    call({ op: 'set', domain, key, value });
  },
  delete(domain: string, key: string): void {
    call({ op: 'delete', domain, key });
  },
  keys(domain: string): string[] {
    return call<{ keys: string[] }>({ op: 'keys', domain }).keys;
  },
} satisfies typeof SdkPreference;

export default Preference;
