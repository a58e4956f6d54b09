// The OTA flash and record store of a simulated device on the XS engine: the slots live on the
// host (sim/virtual-flash.ts, kept with the device's flash across reboots and power cuts), so
// the installer in the guest reaches them over the bridge channel "ota":
//   [1][u32 size] begin · [2][u32 size] resume · [3][u32 offset][bytes] write
//   [4][u32 offset][u32 length] read → bytes · [5] complete · [6] abort · [7] runningState → u8
//   (1 = pending-verify) · [8] markValid · [9] markInvalid · [10] slotSize → u32
//   [11][key] load → [u8 found][bytes] · [12][key][bytes] save        key: 0 state, 1 package
import type { OtaFlash, OtaRecordStore } from '../../protocol/ota/installer';
import { callHost } from './xs-bridge';

function op(code: number, ...words: number[]): Uint8Array {
  const out = new Uint8Array(1 + 4 * words.length);
  out[0] = code;
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(1 + 4 * i, w, true));
  return out;
}

function withTail(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

const KEYS = { state: 0, package: 1 } as const;

export function xsnapOtaFlash(): OtaFlash {
  const call = (bytes: Uint8Array) => callHost('ota', bytes);
  const size = call(op(10));
  return {
    slotSize: new DataView(size.buffer, size.byteOffset, 4).getUint32(0, true),
    begin: (n) => void call(op(1, n)),
    resume: (n) => void call(op(2, n)),
    write: (offset, bytes) => void call(withTail(op(3, offset), bytes)),
    read: (offset, length) => call(op(4, offset, length)).slice(),
    complete: () => void call(op(5)),
    abort: () => void call(op(6)),
    runningState: () => (call(op(7))[0] === 1 ? 'pending-verify' : 'valid'),
    markValid: () => void call(op(8)),
    markInvalid: () => void call(op(9)),
  };
}

export function xsnapOtaRecords(): OtaRecordStore {
  return {
    load(key) {
      const r = callHost('ota', Uint8Array.of(11, KEYS[key]));
      return r[0] === 1 ? r.slice(1) : undefined;
    },
    save(key, bytes) {
      callHost('ota', withTail(Uint8Array.of(12, KEYS[key]), bytes));
    },
  };
}
