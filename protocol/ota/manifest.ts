// The signed manifest: a deterministic CBOR map with small integer keys (docs/ota-package.md has
// the CDDL). Decoding is exact: an unknown key, a missing required key or a wrong type is reason
// 'manifest', so a field an old device does not understand can never be silently ignored.

import { decode, encode, CborError, type CborValue } from '../cbor/index';
import { OtaError } from './reasons';

export const MANIFEST_VERSION = 1;
export const UUID_LENGTH = 16;

export const MANIFEST_KEYS = {
  version: 1,
  seq: 2,
  vendor: 3,
  class: 4,
  size: 5,
  sha256: 6,
  chipId: 7,
  minChipRev: 8,
  maxChipRev: 9,
  secureVersion: 10,
  project: 11,
  appVersion: 12,
  chunkSize: 13,
  chunkTableSha256: 14,
  devices: 15,
  expires: 16,
  minSeq: 17,
  info: 18,
} as const;

export interface Manifest {
  version: number;
  /** Monotonic anti-rollback counter; only a confirmed install advances the device's copy. */
  seq: number;
  vendor: Uint8Array;
  class: Uint8Array;
  size: number;
  sha256: Uint8Array;
  chipId: number;
  /** Chip revision range the image runs on, major*100+minor, from the image header. */
  minChipRev: number;
  maxChipRev: number;
  secureVersion: number;
  project: string;
  appVersion: string;
  chunkSize?: number;
  chunkTableSha256?: Uint8Array;
  devices?: string[];
  /** Seconds since the Unix epoch. */
  expires?: number;
  minSeq?: number;
  info?: string;
}

type Kind = 'uint' | 'uuid' | 'sha' | 'text' | 'devices';
const FIELDS: [keyof Manifest, Kind, boolean][] = [
  ['version', 'uint', true],
  ['seq', 'uint', true],
  ['vendor', 'uuid', true],
  ['class', 'uuid', true],
  ['size', 'uint', true],
  ['sha256', 'sha', true],
  ['chipId', 'uint', true],
  ['minChipRev', 'uint', true],
  ['maxChipRev', 'uint', true],
  ['secureVersion', 'uint', true],
  ['project', 'text', true],
  ['appVersion', 'text', true],
  ['chunkSize', 'uint', false],
  ['chunkTableSha256', 'sha', false],
  ['devices', 'devices', false],
  ['expires', 'uint', false],
  ['minSeq', 'uint', false],
  ['info', 'text', false],
];
const MAX_DEVICES = 256;
const MAX_TEXT = 256;

function bad(detail: string): OtaError {
  return new OtaError('manifest', detail);
}

function check(name: string, kind: Kind, v: unknown): void {
  switch (kind) {
    case 'uint':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${name} must be an unsigned integer`);
      return;
    case 'uuid':
    case 'sha': {
      const n = kind === 'uuid' ? UUID_LENGTH : 32;
      if (!(v instanceof Uint8Array) || v.length !== n) throw bad(`${name} must be a ${n}-byte string`);
      return;
    }
    case 'text':
      if (typeof v !== 'string' || v.length > MAX_TEXT) throw bad(`${name} must be a text string of at most ${MAX_TEXT} characters`);
      return;
    case 'devices':
      if (!Array.isArray(v) || v.length === 0 || v.length > MAX_DEVICES) throw bad(`devices must be a list of 1..${MAX_DEVICES} ids`);
      for (const d of v) if (typeof d !== 'string' || d.length === 0 || d.length > 64) throw bad('devices entries must be ids of 1..64 characters');
      return;
  }
}

function checkPairs(m: Manifest): void {
  if ((m.chunkSize === undefined) !== (m.chunkTableSha256 === undefined)) {
    throw bad('chunkSize and chunkTableSha256 come together or not at all');
  }
  if (m.chunkSize !== undefined && (m.chunkSize < 256 || m.chunkSize > 0x20000 || m.chunkSize % 4 !== 0)) {
    throw bad(`chunkSize ${m.chunkSize} must be a multiple of 4 in 256..131072`);
  }
  if (m.minChipRev > m.maxChipRev) throw bad(`minChipRev ${m.minChipRev} is above maxChipRev ${m.maxChipRev}`);
}

/** The exact bytes to sign. Validates first so a bad manifest is never signed. */
export function encodeManifest(m: Manifest): Uint8Array {
  const map = new Map<CborValue, CborValue>();
  for (const [name, kind, required] of FIELDS) {
    const v = m[name];
    if (v === undefined) {
      if (required) throw bad(`${name} is required`);
      continue;
    }
    check(name, kind, v);
    map.set(MANIFEST_KEYS[name], v as CborValue);
  }
  checkPairs(m);
  return encode(map);
}

/** Strict decode of authenticated manifest bytes. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  let v: CborValue;
  try {
    v = decode(bytes, { floats: false, maxDepth: 4 });
  } catch (e) {
    if (e instanceof CborError) throw new OtaError('cbor', `manifest: ${e.message}`);
    throw e;
  }
  if (!(v instanceof Map)) throw bad('manifest is not an integer-keyed map');
  const out: Record<string, unknown> = {};
  const known = new Set<CborValue>();
  for (const [name, kind, required] of FIELDS) {
    const key = MANIFEST_KEYS[name];
    known.add(key);
    const field = v.get(key);
    if (field === undefined) {
      if (required) throw bad(`${name} (key ${key}) is missing`);
      continue;
    }
    check(name, kind, field);
    out[name] = field;
  }
  for (const k of v.keys()) if (!known.has(k)) throw bad(`unknown key ${String(k)}`);
  const m = out as unknown as Manifest;
  if (m.version !== MANIFEST_VERSION) throw bad(`format version ${m.version}, this build reads ${MANIFEST_VERSION}`);
  checkPairs(m);
  return m;
}
