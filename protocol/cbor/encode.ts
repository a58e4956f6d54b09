// Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding): shortest heads, definite
// lengths, map keys in bytewise order of their encodings, floats in the shortest exact width.
// Signed OTA manifests and golden vectors depend on these exact bytes.
import { utf8Length, utf8Write } from '../utf8';
import { CborError, Tagged, type CborValue } from './types';

class Writer {
  buf = new Uint8Array(64);
  view = new DataView(this.buf.buffer);
  o = 0;

  ensure(n: number): void {
    if (this.o + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.o + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.o));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  head(major: number, arg: number): void {
    const m = major << 5;
    this.ensure(9);
    if (arg < 24) this.buf[this.o++] = m | arg;
    else if (arg < 0x100) {
      this.buf[this.o++] = m | 24;
      this.buf[this.o++] = arg;
    } else if (arg < 0x10000) {
      this.buf[this.o++] = m | 25;
      this.view.setUint16(this.o, arg);
      this.o += 2;
    } else if (arg < 0x100000000) {
      this.buf[this.o++] = m | 26;
      this.view.setUint32(this.o, arg);
      this.o += 4;
    } else {
      this.buf[this.o++] = m | 27;
      this.view.setBigUint64(this.o, BigInt(arg));
      this.o += 8;
    }
  }

  bigHead(major: number, arg: bigint): void {
    if (arg <= BigInt(Number.MAX_SAFE_INTEGER)) return this.head(major, Number(arg));
    this.ensure(9);
    this.buf[this.o++] = (major << 5) | 27;
    this.view.setBigUint64(this.o, arg);
    this.o += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.o);
    this.o += b.length;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.o);
  }
}

export function encode(value: CborValue): Uint8Array {
  const w = new Writer();
  write(w, value, 0);
  return w.result();
}

const MAX_DEPTH = 64;
const TWO_64 = BigInt('18446744073709551616');

function write(w: Writer, v: CborValue, depth: number): void {
  if (depth > MAX_DEPTH) throw new CborError('depth', `value nested deeper than ${MAX_DEPTH}`);
  switch (typeof v) {
    case 'number':
      return writeNumber(w, v);
    case 'bigint':
      if (v >= 0n && v < TWO_64) return w.bigHead(0, v);
      if (v < 0n && v >= -TWO_64) return w.bigHead(1, -1n - v);
      throw new CborError('int-range', `integer ${v} needs more than 64 bits`);
    case 'string': {
      const n = utf8Length(v);
      w.head(3, n);
      w.ensure(n);
      w.o = utf8Write(v, w.buf, w.o);
      return;
    }
    case 'boolean':
      w.ensure(1);
      w.buf[w.o++] = v ? 0xf5 : 0xf4;
      return;
    case 'undefined':
      w.ensure(1);
      w.buf[w.o++] = 0xf7;
      return;
    case 'object':
      break;
    default:
      throw new CborError('unsupported', `cannot encode a ${typeof v}`);
  }
  if (v === null) {
    w.ensure(1);
    w.buf[w.o++] = 0xf6;
  } else if (v instanceof Uint8Array) {
    w.head(2, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const item of v) write(w, item, depth + 1);
  } else if (v instanceof Tagged) {
    if (!Number.isSafeInteger(v.tag) || v.tag < 0) throw new CborError('tag', `tag ${v.tag} is not an unsigned integer`);
    w.head(6, v.tag);
    write(w, v.value, depth + 1);
  } else if (v instanceof Map) {
    writeMap(w, [...v.entries()], depth);
  } else {
    writeMap(w, Object.entries(v as Record<string, CborValue>), depth);
  }
}

function writeMap(w: Writer, entries: [CborValue, CborValue][], depth: number): void {
  const encoded = entries.map(([k, val]) => ({ key: encode(k), val }));
  encoded.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1].key, encoded[i].key) === 0) throw new CborError('duplicate-key', 'map has two equal keys');
  }
  w.head(5, encoded.length);
  for (const e of encoded) {
    w.bytes(e.key);
    write(w, e.val, depth + 1);
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function writeNumber(w: Writer, v: number): void {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
    if (v >= 0) w.head(0, v);
    else w.head(1, -1 - v);
    return;
  }
  w.ensure(9);
  const half = toHalf(v);
  if (half !== undefined) {
    w.buf[w.o++] = 0xf9;
    w.view.setUint16(w.o, half);
    w.o += 2;
  } else if (Math.fround(v) === v) {
    w.buf[w.o++] = 0xfa;
    w.view.setFloat32(w.o, v);
    w.o += 4;
  } else {
    w.buf[w.o++] = 0xfb;
    w.view.setFloat64(w.o, v);
    w.o += 8;
  }
}

/** The IEEE 754 half-precision bits of `v` when it is exactly representable, else undefined. */
export function toHalf(v: number): number | undefined {
  if (Number.isNaN(v)) return 0x7e00;
  if (v === Infinity) return 0x7c00;
  if (v === -Infinity) return 0xfc00;
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a > 65504 || a < 2 ** -24) return undefined;
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp--;
  if (2 ** (exp + 1) <= a) exp++;
  if (exp < -14) {
    const mant = a / 2 ** -24;
    return Number.isInteger(mant) ? sign | mant : undefined;
  }
  const mant = (a / 2 ** exp - 1) * 1024;
  if (!Number.isInteger(mant)) return undefined;
  return sign | ((exp + 15) << 10) | mant;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
