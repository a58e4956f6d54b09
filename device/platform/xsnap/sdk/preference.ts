// Moddable's `preference` for the simulator's XS engine (manifest.json's xsnap platform maps
// "preference" here), so the firmware's own settings store (device/platform/moddable/storage.ts)
// runs in the simulator. The values live on the host (sim/xs-device.ts, the device's NVS that
// outlives a power cut) over the bridge's "storage" channel:
//   JSON {op: 'get' | 'set' | 'delete' | 'keys', domain, key?, value?} → JSON {value} | {keys} | null
// The simulated NVS keeps strings, numbers and booleans, which is all the firmware stores.
//
// Module name "preference", so imports are by full module name.
import type SdkPreference from 'preference';
import { callHost } from 'device/platform/xs-bridge';
import { utf8Decode, utf8Encode } from 'protocol/utf8';

type Value = string | boolean | number | ArrayBuffer;

function call<T>(request: { op: string; domain: string; key?: string; value?: Value }): T {
  const reply = callHost('storage', utf8Encode(JSON.stringify(request)));
  return JSON.parse(utf8Decode(reply)) as T;
}

const Preference = {
  get(domain: string, key: string): Value | undefined {
    return call<{ value?: string | number | boolean }>({ op: 'get', domain, key }).value;
  },
  set(domain: string, key: string, value: Value): void {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new TypeError(`preference ${domain}/${key}: the simulator keeps strings, numbers and booleans only`);
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
