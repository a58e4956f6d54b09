// The device's identity and health records, one definition for the device, the simulator and
// `canopy devices`. Both are deterministic CBOR maps with small integer keys, not position
// records like the telemetry sample: a platform leaves out what it cannot measure (lin has no
// RSSI, no free heap), and a map says "absent" by omission where an array would need a null.
//
//   info    retained, QoS 1, on every connect: who the device is and how it last came up
//   health  retained, QoS 0, every health interval: the values that change, under the same keys
//
// The keys are shared, so a health record is an info record's changing half. Schema (CDDL),
// worked examples and the reset reason codes: docs/info.md; golden bytes in test/info.test.ts.
import { decode, encode, type CborValue } from './cbor/index';

/**
 * Why the device last started. The codes are ESP-IDF's esp_reset_reason_t, in its order, so the
 * firmware can pass the SDK's number through; the simulator uses power-on and software.
 */
export const RESET_REASONS = ['unknown', 'power-on', 'external', 'software', 'panic', 'interrupt-watchdog', 'task-watchdog', 'other-watchdog', 'deep-sleep', 'brownout', 'sdio'] as const;
export type ResetReason = (typeof RESET_REASONS)[number];

export interface DeviceHealth {
  /** Unix seconds when the record was made, 0 while the clock is not set: a fleet view's "last seen" from retained records alone. */
  ts: number;
  /** The telemetry interval now, ms: a fleet view calls a device stale when samples stop coming at it. */
  intervalMs: number;
  /** Seconds since the app started, 0..2^32-1. */
  uptime: number;
  /** Bytes of free heap, when the platform can tell. */
  freeHeap?: number;
  /** Wi-Fi signal, dBm (-128..0), when there is a Wi-Fi link to measure. */
  rssi?: number;
  /** Messages waiting for the broker: queued plus in flight. */
  outboxDepth: number;
  /** Messages the outbox dropped since boot because it was full. */
  dropped: number;
}

export interface DeviceInfo extends DeviceHealth {
  firmwareVersion: string;
  /** The installed OTA sequence number; 0 when the device never took an update. */
  otaSeq: number;
  /** Which telemetry sample layout the device publishes (protocol/telemetry.ts SAMPLE_SCHEMA). */
  schema: number;
  /** Absent when the platform cannot tell. */
  resetReason?: ResetReason;
}

/** Why a record was refused: stable names for tests, logs and `canopy devices`' error column. */
export type InfoReason = 'cbor' | 'shape' | 'unknown-key' | 'type' | 'range' | 'missing';

export class InfoError extends Error {
  override name = 'InfoError';
  constructor(
    readonly reason: InfoReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

const U32 = 0xffffffff;
const MAX_VERSION = 32;

/** Key, field and value rule, once; the encoder and the strict decoder both read this table. */
const FIELDS = [
  { key: 1, field: 'firmwareVersion', kind: 'text' },
  { key: 2, field: 'otaSeq', kind: 'u32' },
  { key: 3, field: 'schema', kind: 'u16' },
  { key: 4, field: 'resetReason', kind: 'reset' },
  { key: 5, field: 'uptime', kind: 'u32' },
  { key: 6, field: 'freeHeap', kind: 'u32' },
  { key: 7, field: 'rssi', kind: 'dbm' },
  { key: 8, field: 'outboxDepth', kind: 'u32' },
  { key: 9, field: 'dropped', kind: 'u32' },
  { key: 10, field: 'ts', kind: 'u32' },
  { key: 11, field: 'intervalMs', kind: 'u32' },
] as const;
type Field = (typeof FIELDS)[number];
type FieldName = Field['field'];

const INFO_REQUIRED: FieldName[] = ['firmwareVersion', 'otaSeq', 'schema', 'uptime', 'outboxDepth', 'dropped', 'ts', 'intervalMs'];
const HEALTH_FIELDS: FieldName[] = ['uptime', 'freeHeap', 'rssi', 'outboxDepth', 'dropped', 'ts', 'intervalMs'];
const HEALTH_REQUIRED: FieldName[] = ['uptime', 'outboxDepth', 'dropped', 'ts', 'intervalMs'];

export function encodeInfo(info: DeviceInfo): Uint8Array {
  return encodeFields(info as unknown as Record<string, unknown>, FIELDS, INFO_REQUIRED, 'info');
}

export function decodeInfo(bytes: Uint8Array): DeviceInfo {
  return decodeFields(bytes, FIELDS, INFO_REQUIRED, 'info') as unknown as DeviceInfo;
}

const HEALTH = FIELDS.filter((f) => HEALTH_FIELDS.includes(f.field));

export function encodeHealth(h: DeviceHealth): Uint8Array {
  const only: Record<string, unknown> = {};
  for (const f of HEALTH) only[f.field] = (h as unknown as Record<string, unknown>)[f.field];
  return encodeFields(only, HEALTH, HEALTH_REQUIRED, 'health');
}

export function decodeHealth(bytes: Uint8Array): DeviceHealth {
  return decodeFields(bytes, HEALTH, HEALTH_REQUIRED, 'health') as unknown as DeviceHealth;
}

function encodeFields(o: Record<string, unknown>, fields: readonly Field[], required: FieldName[], what: string): Uint8Array {
  const m = new Map<CborValue, CborValue>();
  for (const f of fields) {
    const v = o[f.field];
    if (v === undefined) {
      if (required.includes(f.field)) throw new InfoError('missing', `${what} needs ${f.field}`);
      continue;
    }
    m.set(f.key, toWire(f, v, what));
  }
  return encode(m);
}

function toWire(f: Field, v: unknown, what: string): CborValue {
  if (f.kind === 'reset') {
    const code = RESET_REASONS.indexOf(v as ResetReason);
    if (code < 0) throw new InfoError('range', `${what} ${f.field} "${String(v)}" is not one of ${RESET_REASONS.join(', ')}`);
    return code;
  }
  check(f, v, what);
  return v as CborValue;
}

function check(f: Field, v: unknown, what: string): void {
  if (f.kind === 'text') {
    if (typeof v !== 'string') throw new InfoError('type', `${what} ${f.field} must be text`);
    if (v.length === 0 || v.length > MAX_VERSION) throw new InfoError('range', `${what} ${f.field} must be 1..${MAX_VERSION} characters`);
    return;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InfoError('type', `${what} ${f.field} must be an integer`);
  const [min, max] = f.kind === 'u32' ? [0, U32] : f.kind === 'u16' ? [0, 0xffff] : f.kind === 'dbm' ? [-128, 0] : [0, RESET_REASONS.length - 1];
  if (v < min || v > max) throw new InfoError('range', `${what} ${f.field} must be ${min}..${max}, got ${v}`);
}

function decodeFields(bytes: Uint8Array, fields: readonly Field[], required: FieldName[], what: string): Record<string, unknown> {
  let v: CborValue;
  try {
    v = decode(bytes, { floats: false, maxDepth: 1 });
  } catch (err) {
    throw new InfoError('cbor', `${what} is not valid deterministic CBOR: ${(err as Error).message}`);
  }
  if (!(v instanceof Map)) throw new InfoError('shape', `${what} must be a CBOR map`);
  const out: Record<string, unknown> = {};
  for (const [k, val] of v) {
    const f = fields.find((x) => x.key === k);
    if (!f) throw new InfoError('unknown-key', `${what} has unknown key ${String(k)}`);
    check(f, val, what);
    out[f.field] = f.kind === 'reset' ? RESET_REASONS[val as number] : val;
  }
  for (const name of required) if (!(name in out)) throw new InfoError('missing', `${what} lacks ${name} (key ${fields.find((x) => x.field === name)!.key})`);
  return out;
}
