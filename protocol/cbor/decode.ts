// Strict CBOR decoder: one definite, shortest-form item per buffer and nothing after it.
// Whatever a verifier or the device reads must have exactly one encoding, so every freedom
// RFC 8949 allows an encoder (long heads, indefinite lengths, key order, duplicates) is an error
// here unless an option relaxes it (the oracle tests read cbor-x output that way).
import { utf8Decode } from '../utf8';
import { compareBytes, fromHalf, toHalf } from './encode';
import { CborError, Tagged, type CborValue } from './types';

export interface DecodeOptions {
  maxDepth?: number;
  /** Tags accepted (decoded as Tagged); any other tag is an error. */
  tags?: number[];
  /** Accept floats at all (default true). */
  floats?: boolean;
  /** Integers beyond ±2^53 decode as bigint instead of failing. */
  bigint?: boolean;
  /** Decode text-keyed maps to plain objects (integer-keyed ones stay Maps). */
  objects?: boolean;
  /** Relaxations for reading non-deterministic encoders. */
  allowUnsortedKeys?: boolean;
  allowNonPreferredFloats?: boolean;
}

export function decode(bytes: Uint8Array, options: DecodeOptions = {}): CborValue {
  const d = new Decoder(bytes, options);
  const v = d.item(0);
  if (d.o !== bytes.length) throw new CborError('trailing', `${bytes.length - d.o} bytes after the data item`, d.o);
  return v;
}

class Decoder {
  o = 0;
  private readonly view: DataView;
  private readonly maxDepth: number;

  constructor(
    private readonly b: Uint8Array,
    private readonly opts: DecodeOptions,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.maxDepth = opts.maxDepth ?? 16;
  }

  private need(n: number, at: number): void {
    if (this.o + n > this.b.length) throw new CborError('truncated', `needs ${n} more bytes, ${this.b.length - this.o} left`, at);
  }

  /** Reads a head's argument; enforces the shortest form. Returns a number or, past 2^53, a bigint. */
  private argument(ai: number, at: number): number | bigint {
    if (ai < 24) return ai;
    let v: number | bigint;
    let min: number;
    switch (ai) {
      case 24:
        this.need(1, at);
        v = this.b[this.o];
        this.o += 1;
        min = 24;
        break;
      case 25:
        this.need(2, at);
        v = this.view.getUint16(this.o);
        this.o += 2;
        min = 0x100;
        break;
      case 26:
        this.need(4, at);
        v = this.view.getUint32(this.o);
        this.o += 4;
        min = 0x10000;
        break;
      case 27: {
        this.need(8, at);
        const big = this.view.getBigUint64(this.o);
        this.o += 8;
        if (big < 0x100000000n) throw new CborError('non-minimal', 'argument not in its shortest form', at);
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case 31:
        throw new CborError('indefinite', 'indefinite length or break', at);
      default:
        throw new CborError('reserved', `reserved additional information ${ai}`, at);
    }
    if (v < min) throw new CborError('non-minimal', 'argument not in its shortest form', at);
    return v;
  }

  private length(ai: number, at: number): number {
    const n = this.argument(ai, at);
    if (typeof n === 'bigint' || n > this.b.length - this.o) {
      throw new CborError('truncated', `declared length ${n} exceeds the ${this.b.length - this.o} bytes left`, at);
    }
    return n;
  }

  item(depth: number): CborValue {
    const at = this.o;
    if (depth > this.maxDepth) throw new CborError('depth', `nesting deeper than ${this.maxDepth}`, at);
    this.need(1, at);
    const ib = this.b[this.o++];
    const major = ib >> 5;
    const ai = ib & 31;
    switch (major) {
      case 0:
      case 1: {
        const n = this.argument(ai, at);
        if (typeof n === 'bigint') {
          if (!this.opts.bigint) throw new CborError('int-range', 'integer beyond ±2^53 (pass bigint: true to accept)', at);
          return major === 0 ? n : -1n - n;
        }
        if (major === 0) return n;
        if (n >= Number.MAX_SAFE_INTEGER) {
          if (!this.opts.bigint) throw new CborError('int-range', 'integer beyond ±2^53 (pass bigint: true to accept)', at);
          return -1n - BigInt(n);
        }
        return -1 - n;
      }
      case 2: {
        const n = this.length(ai, at);
        const out = this.b.slice(this.o, this.o + n);
        this.o += n;
        return new Uint8Array(out);
      }
      case 3: {
        const n = this.length(ai, at);
        const start = this.o;
        this.o += n;
        try {
          return utf8Decode(this.b, start, start + n);
        } catch (err) {
          throw new CborError('utf8', `invalid UTF-8 in text string: ${(err as Error).message}`, at);
        }
      }
      case 4: {
        const n = this.length(ai, at);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5:
        return this.map(ai, at, depth);
      case 6: {
        const tag = this.argument(ai, at);
        if (typeof tag === 'bigint' || !this.opts.tags?.includes(tag)) throw new CborError('tag', `tag ${tag} is not allowed here`, at);
        return new Tagged(tag, this.item(depth + 1));
      }
      default:
        return this.simple(ai, at);
    }
  }

  private map(ai: number, at: number, depth: number): CborValue {
    const n = this.length(ai, at);
    const map = new Map<CborValue, CborValue>();
    let prev: Uint8Array | undefined;
    const seen: Uint8Array[] = [];
    let allText = true;
    for (let i = 0; i < n; i++) {
      const keyStart = this.o;
      const key = this.item(depth + 1);
      const keyBytes = this.b.subarray(keyStart, this.o);
      if (prev && !this.opts.allowUnsortedKeys) {
        const c = compareBytes(prev, keyBytes);
        if (c === 0) throw new CborError('duplicate-key', 'map key repeated', keyStart);
        if (c > 0) throw new CborError('unsorted-keys', 'map keys not in deterministic order', keyStart);
      } else if (this.opts.allowUnsortedKeys && seen.some((s) => compareBytes(s, keyBytes) === 0)) {
        throw new CborError('duplicate-key', 'map key repeated', keyStart);
      }
      if (this.opts.allowUnsortedKeys) seen.push(keyBytes);
      prev = keyBytes;
      if (typeof key !== 'string') allText = false;
      map.set(key, this.item(depth + 1));
    }
    if (this.opts.objects && allText && map.size > 0) {
      const obj: { [k: string]: CborValue } = {};
      for (const [k, v] of map) obj[k as string] = v;
      return obj;
    }
    return map;
  }

  private simple(ai: number, at: number): CborValue {
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
      case 26:
      case 27:
        return this.float(ai, at);
      case 31:
        throw new CborError('indefinite', 'break outside an indefinite item', at);
      case 28:
      case 29:
      case 30:
        throw new CborError('reserved', `reserved additional information ${ai}`, at);
      default:
        throw new CborError('simple', `simple value ${ai === 24 ? 'in one byte' : ai} is not allowed`, at);
    }
  }

  private float(ai: number, at: number): number {
    if (this.opts.floats === false) throw new CborError('float', 'floating-point value where integers are required', at);
    let v: number;
    if (ai === 25) {
      this.need(2, at);
      v = fromHalf(this.view.getUint16(this.o));
      this.o += 2;
      return v;
    }
    if (ai === 26) {
      this.need(4, at);
      v = this.view.getFloat32(this.o);
      this.o += 4;
    } else {
      this.need(8, at);
      v = this.view.getFloat64(this.o);
      this.o += 8;
    }
    if (!this.opts.allowNonPreferredFloats) {
      const shorter = toHalf(v) !== undefined || (ai === 27 && Math.fround(v) === v);
      if (shorter) throw new CborError('non-minimal', 'float not in its shortest exact width', at);
    }
    return v;
  }
}
