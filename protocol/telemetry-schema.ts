// Telemetry an app declares: the fields of its sample (name, type, unit, scale, valid range), and
// from that one declaration the device's CBOR encoder, the host's decoder and the CDDL in the
// docs. A sample is a CBOR array whose positions are its keys (the most compact integer keys:
// none at all), values as fixed-point integers: [seq, ts, field...]. The built-in sensor-node
// layout (protocol/telemetry.ts) is the one "legacy" declaration sent as that bare array; every
// other declaration's sample starts with its schema id as a 2-byte string,
// [h'IIII', seq, ts, field...], so a decoder that knows only another layout refuses it (a byte
// string is never a seq) instead of misreading it. The id is derived from the declaration, so a
// changed declaration is a new id without anyone remembering to bump one; the device's info
// record (protocol/info.ts, `schema`) reports the same id.
import { decode, encode, type CborValue } from './cbor/index';
import { crc32 } from './crc32';
import { utf8Encode } from './utf8';

export interface TelemetryField {
  /** Key in the decoded record; [A-Za-z][A-Za-z0-9]*, not "seq" or "ts". */
  name: string;
  /** "int": a number sent as a fixed-point integer; "bool": true/false. */
  type: 'int' | 'bool';
  /** Unit of the value as the app reads it (°C, %RH, lx); documentation and displays only. */
  unit?: string;
  /** Decimal places kept: the wire carries round(value × 10^scale). 0..6, default 0. */
  scale?: number;
  /** Valid range of the value, in its unit (int only; required for int). */
  min?: number;
  max?: number;
  /** The field may be null (no reading); NaN counts as null, the DHT convention. */
  nullable?: boolean;
  /** Out-of-range values are clamped (counters), instead of refusing the sample. */
  saturate?: boolean;
  /** One line for the CDDL comment. */
  description?: string;
}

export interface TelemetryDeclaration {
  /** The app's name, [a-z][a-z0-9-]*: the CDDL rule is "<name>-sample". */
  name: string;
  fields: readonly TelemetryField[];
  /**
   * Only the built-in sensor-node layout: its pinned id (1), sent without an id in the payload
   * because deployed devices already send it so. test/telemetry.test.ts pins its declaration.
   */
  legacyId?: number;
}

export type FieldValue = number | boolean | null;
export type TelemetryValues = Record<string, FieldValue>;
export interface TelemetryRecord {
  seq: number;
  ts: number;
  [field: string]: FieldValue;
}

export class TelemetryError extends Error {
  override name = 'TelemetryError';
}

const U32 = 0xffffffff;
const NAME = /^[A-Za-z][A-Za-z0-9]{0,31}$/;

interface Compiled {
  field: TelemetryField;
  /** 10^scale */
  factor: number;
  /** Wire bounds (scaled integers). */
  lo: number;
  hi: number;
}

/** The schema id of a declaration: 1 for the legacy layout, else 2..65535 from a CRC of its canonical text. */
export function schemaIdOf(d: TelemetryDeclaration): number {
  if (d.legacyId !== undefined) return d.legacyId;
  const id = crc32(utf8Encode(canonical(d))) & 0xffff;
  // 0 means "none" and 1 is the legacy layout.
  return id < 2 ? id + 2 : id;
}

/** Everything that changes the meaning of the bytes, in order; the description does not. */
function canonical(d: TelemetryDeclaration): string {
  return `${d.name}|${d.fields.map((f) => [f.name, f.type, f.unit ?? '', f.scale ?? 0, f.min ?? '', f.max ?? '', f.nullable ? 'n' : '', f.saturate ? 's' : ''].join(':')).join(';')}`;
}

export class Telemetry {
  readonly id: number;
  readonly declaration: TelemetryDeclaration;
  /** Whether the payload carries the id (every declaration but the legacy one). */
  readonly tagged: boolean;
  private readonly fields: Compiled[];
  private readonly idBytes: Uint8Array;

  constructor(declaration: TelemetryDeclaration) {
    this.declaration = declaration;
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(declaration.name)) throw new TelemetryError(`telemetry name "${declaration.name}" must be [a-z][a-z0-9-]*, at most 32 characters`);
    if (declaration.fields.length > 20) throw new TelemetryError('a telemetry declaration has at most 20 fields');
    const seen = new Set<string>(['seq', 'ts']);
    this.fields = declaration.fields.map((f) => {
      if (!NAME.test(f.name) || seen.has(f.name)) throw new TelemetryError(`field name "${f.name}" must be unique, [A-Za-z][A-Za-z0-9]*, and not seq or ts`);
      seen.add(f.name);
      if (f.type === 'bool') return { field: f, factor: 1, lo: 0, hi: 1 };
      if (f.type !== 'int') throw new TelemetryError(`field ${f.name}: type must be "int" or "bool"`);
      const scale = f.scale ?? 0;
      if (!Number.isInteger(scale) || scale < 0 || scale > 6) throw new TelemetryError(`field ${f.name}: scale must be an integer 0..6`);
      if (typeof f.min !== 'number' || typeof f.max !== 'number' || !(f.min <= f.max)) throw new TelemetryError(`field ${f.name}: an int field needs min <= max`);
      const factor = 10 ** scale;
      const lo = Math.round(f.min * factor);
      const hi = Math.round(f.max * factor);
      if (lo < -U32 - 1 || hi > U32) throw new TelemetryError(`field ${f.name}: the scaled range must fit 32 bits`);
      return { field: f, factor, lo, hi };
    });
    this.id = schemaIdOf(declaration);
    this.tagged = declaration.legacyId === undefined;
    this.idBytes = Uint8Array.of(this.id >> 8, this.id & 0xff);
  }

  /** The sample as CBOR. Throws a TelemetryError naming the field for a value outside its declaration. */
  encode(seq: number, ts: number, values: TelemetryValues): Uint8Array {
    const items: CborValue[] = this.tagged ? [this.idBytes] : [];
    items.push(uint('seq', seq), uint('ts', ts));
    for (const c of this.fields) items.push(wire(c, values[c.field.name]));
    return encode(items);
  }

  /** The largest sample this declaration can produce, bytes. */
  get maxBytes(): number {
    let n = 1 + (this.tagged ? 3 : 0) + 5 + 5;
    for (const c of this.fields) n += c.field.type === 'bool' ? 1 : Math.max(intSize(c.lo), intSize(c.hi));
    return n + (this.fields.length + (this.tagged ? 3 : 2) > 23 ? 1 : 0);
  }

  /** Strict: the shape, every value's range, and the id; never a sample of another declaration. */
  decode(bytes: Uint8Array): TelemetryRecord {
    const a = items(bytes);
    const off = this.tagged ? 1 : 0;
    if (this.tagged) {
      const id = schemaOfItem(a[0]);
      if (id === undefined) throw new TelemetryError(`not a ${this.declaration.name} sample: it carries no schema id`);
      if (id !== this.id) throw new TelemetryError(`telemetry schema ${id} is not ${this.declaration.name} (schema ${this.id})`);
    } else if (schemaOfItem(a[0]) !== undefined) throw new TelemetryError(`telemetry schema ${schemaOfItem(a[0])} is not ${this.declaration.name} (schema ${this.id})`);
    if (a.length !== off + 2 + this.fields.length) throw new TelemetryError(`a ${this.declaration.name} sample must be an array of ${off + 2 + this.fields.length} items`);
    const record: TelemetryRecord = { seq: readUint(a[off], 'seq'), ts: readUint(a[off + 1], 'ts') };
    for (let i = 0; i < this.fields.length; i++) record[this.fields[i].field.name] = read(this.fields[i], a[off + 2 + i]);
    return record;
  }

  /** The declaration as CDDL (RFC 8610), one line per field with its unit and scale. */
  cddl(): string {
    const rows: [string, string, string][] = [];
    if (this.tagged) rows.push(['schema', `h'${hex4(this.id)}'`, `schema id ${this.id}`]);
    rows.push(['seq', 'uint .size 4', 'sequence number, never repeats across reboots'], ['ts', 'uint .size 4', 'Unix seconds (0 = clock not set)']);
    for (const c of this.fields) {
      const f = c.field;
      const type = f.type === 'bool' ? 'bool' : c.lo < 0 || f.nullable ? `(${c.lo}..${c.hi})` : `${c.lo}..${c.hi}`;
      const unit = f.type === 'int' ? `${c.factor === 1 ? '' : `${f.unit ?? ''} × ${c.factor}`}${c.factor === 1 ? f.unit ?? '' : ''}` : '';
      const notes = [unit, f.nullable ? 'null = no reading' : '', f.saturate ? 'saturates' : '', f.description ?? ''].filter((s) => s !== '').join('; ');
      rows.push([f.name, f.nullable ? `${type} / null` : type, notes]);
    }
    const w = Math.max(...rows.map((r) => r[0].length)) + 1;
    const tw = Math.max(...rows.map((r) => r[1].length)) + 1;
    const lines = rows.map((r, i) => `  ${`${r[0]}:`.padEnd(w + 1)}${`${r[1]},`.padEnd(tw + 1)} ; ${i}${r[2] ? `: ${r[2]}` : ''}`.trimEnd());
    return `; ${this.declaration.name}, schema ${this.id}${this.tagged ? '' : ' (no id on the wire)'}; at most ${this.maxBytes} bytes\n${this.declaration.name}-sample = [\n${lines.join('\n')}\n]`;
  }
}

/**
 * The host's reader for a fleet of several apps: picks the declaration by the id in the payload
 * (or the legacy layout when there is none) and refuses a schema it does not know.
 */
export class TelemetryDecoder {
  private readonly byId = new Map<number, Telemetry>();
  constructor(schemas: readonly Telemetry[]) {
    for (const s of schemas) {
      if (this.byId.has(s.id) && this.byId.get(s.id)!.declaration !== s.declaration) throw new TelemetryError(`two declarations share schema id ${s.id}`);
      this.byId.set(s.id, s);
    }
  }
  schema(id: number): Telemetry | undefined {
    return this.byId.get(id);
  }
  decode(bytes: Uint8Array): { schema: Telemetry; record: TelemetryRecord } {
    const id = schemaIdOfPayload(bytes);
    const schema = this.byId.get(id ?? 1);
    if (!schema) throw new TelemetryError(id === undefined ? 'a sample without schema id, and the legacy layout is not known here' : `telemetry schema ${id} is not known to this decoder`);
    return { schema, record: schema.decode(bytes) };
  }
}

/** The schema id a payload carries, or undefined for the legacy (id-less) layout. Cheap: reads 4 bytes. */
export function schemaIdOfPayload(b: Uint8Array): number | undefined {
  const head = b[0];
  const first = head >= 0x80 && head <= 0x97 ? 1 : head === 0x98 ? 2 : -1;
  if (first < 0 || b[first] !== 0x42 || b.length < first + 3) return undefined;
  return (b[first + 1] << 8) | b[first + 2];
}

function items(bytes: Uint8Array): CborValue[] {
  let v: CborValue;
  try {
    v = decode(bytes, { floats: false, maxDepth: 1 });
  } catch (err) {
    throw new TelemetryError(`sample is not valid CBOR: ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new TelemetryError('a sample must be a CBOR array');
  return v;
}

function schemaOfItem(v: CborValue | undefined): number | undefined {
  return v instanceof Uint8Array && v.length === 2 ? (v[0] << 8) | v[1] : undefined;
}

function hex4(n: number): string {
  return (n + 0x10000).toString(16).slice(1);
}

function intSize(v: number): number {
  const m = v < 0 ? -1 - v : v;
  return m < 24 ? 1 : m < 0x100 ? 2 : m < 0x10000 ? 3 : 5;
}

function uint(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > U32) throw new TelemetryError(`${field} must be an integer 0..${U32}, got ${v}`);
  return v;
}

function wire(c: Compiled, v: FieldValue | undefined): CborValue {
  const f = c.field;
  if (f.type === 'bool') {
    if (typeof v !== 'boolean') throw new TelemetryError(`${f.name} must be a boolean`);
    return v;
  }
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
    if (f.nullable) return null;
    throw new TelemetryError(`${f.name} has no value and is not nullable`);
  }
  if (typeof v !== 'number') throw new TelemetryError(`${f.name} must be a number`);
  // + 0 turns -0 (a reading of -0.04 °C rounds to it; so can a sign-and-magnitude sensor's 0) into 0:
  // CBOR has no integer -0, the encoder would send a float, and every decoder refuses the sample.
  let t = Math.round(v * c.factor) + 0;
  if (f.saturate) t = Math.min(c.hi, Math.max(c.lo, t));
  if (!(t >= c.lo && t <= c.hi)) throw new TelemetryError(`${f.name} ${v} is outside ${f.min}..${f.max}`);
  return t;
}

function readUint(v: CborValue, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > U32) throw new TelemetryError(`${field} must be an integer 0..${U32}`);
  return v;
}

function read(c: Compiled, v: CborValue): FieldValue {
  const f = c.field;
  if (v === null && f.nullable) return null;
  if (f.type === 'bool') {
    if (typeof v !== 'boolean') throw new TelemetryError(`${f.name} must be a boolean`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < c.lo || v > c.hi) throw new TelemetryError(`${f.name} must be ${f.nullable ? 'null or ' : ''}an integer ${c.lo}..${c.hi}${c.factor === 1 ? '' : ` (× ${c.factor})`}`);
  return c.factor === 1 ? v : v / c.factor;
}
