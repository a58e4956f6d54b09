import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decoder as CborXDecoder, Encoder as CborXEncoder } from 'cbor-x';
import { CborError, Tagged, decode, encode, type CborValue } from '../protocol/cbor/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('RFC 8949 Appendix A vectors (deterministic subset)', () => {
  const vectors: [CborValue, string][] = [
    [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'], [100, '1864'], [1000, '1903e8'],
    [1000000, '1a000f4240'], [1000000000000, '1b000000e8d4a51000'], [BigInt('18446744073709551615'), '1bffffffffffffffff'],
    [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'], [BigInt('-18446744073709551616'), '3bffffffffffffffff'],
    [-0, 'f98000'], [0.5, 'f93800'], [1.1, 'fb3ff199999999999a'], [1.5, 'f93e00'], [65504, '19ffe0'], [100000.5, 'fa47c35040'],
    [3.4028234663852886e38, 'fa7f7fffff'], [1e300, 'fb7e37e43c8800759c'], [5.960464477539063e-8, 'f90001'], [0.00006103515625, 'f90400'],
    [-4.1, 'fbc010666666666666'], [Infinity, 'f97c00'], [NaN, 'f97e00'], [-Infinity, 'f9fc00'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'], [undefined, 'f7'],
    [new Uint8Array([1, 2, 3, 4]), '4401020304'], ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['"\\', '62225c'],
    ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'], ['\ud800\udd51', '64f0908591'],
    [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
    [new Map(), 'a0'], [new Map<CborValue, CborValue>([[1, 2], [3, 4]]), 'a201020304'],
    [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [new Tagged(1, 1363896240), 'c11a514b67b0'],
  ];
  it.each(vectors)('%o ↔ %s', (value, h) => {
    expect(hex(encode(value))).toBe(h);
    const back = decode(unhex(h), { bigint: true, tags: [1], objects: true });
    if (typeof value === 'number' && Number.isNaN(value)) expect(back).toBeNaN();
    else expect(back).toEqual(value);
  });

  it('sorts map keys by their encoded bytes (RFC 8949 §4.2.1)', () => {
    const m = new Map<CborValue, CborValue>([['aa', 1], [100, 2], [-1, 3], ['b', 4], [10, 5]]);
    // 10 (0a) < 100 (1864) < -1 (20) < "b" (6162) < "aa" (626161)
    expect(hex(encode(m))).toBe('a50a0518640220036162046261610' + '1');
  });
});

describe('strict decoder rejections', () => {
  const cases: [string, string, string][] = [
    ['trailing bytes', '0000', 'trailing'],
    ['truncated head', '19 01', 'truncated'],
    ['non-minimal int', '1817', 'non-minimal'],
    ['non-minimal 64-bit', '1b00000000000000ff', 'non-minimal'],
    ['non-minimal length', '5801ff', 'non-minimal'],
    ['indefinite array', '9f01ff', 'indefinite'],
    ['indefinite string', '7f6161ff', 'indefinite'],
    ['duplicate key', 'a201010102', 'duplicate-key'],
    ['unsorted keys', 'a202010101', 'unsorted-keys'],
    ['unknown tag', 'c001', 'tag'],
    ['float where a shorter one is exact', 'fa3fc00000', 'non-minimal'],
    ['reserved additional info', '1c', 'reserved'],
    ['simple value 16', 'f0', 'simple'],
    ['invalid UTF-8', '62c328', 'utf8'],
    ['64-bit int', '1b0020000000000000', 'int-range'],
    ['declared length past the end', '5affffffff00', 'truncated'],
    ['lone break', 'ff', 'indefinite'],
  ];
  it.each(cases)('%s → %s', (_n, h, reason) => {
    expect(() => decode(unhex(h.replace(/ /g, '')))).toThrow(expect.objectContaining({ reason }));
  });

  it('refuses nesting deeper than the limit', () => {
    expect(() => decode(unhex('81'.repeat(20) + '00'))).toThrow(expect.objectContaining({ reason: 'depth' }));
    expect(decode(unhex('81'.repeat(20) + '00'), { maxDepth: 25 })).toBeDefined();
  });

  it('refuses floats when the schema wants integers', () => {
    expect(() => decode(unhex('f93e00'), { floats: false })).toThrow(expect.objectContaining({ reason: 'float' }));
  });

  it('encoder refuses duplicate keys and out-of-range integers', () => {
    expect(() => encode(new Map<CborValue, CborValue>([[1, 1], [BigInt(1), 2]]))).toThrow(CborError);
    expect(() => encode(BigInt('18446744073709551616'))).toThrow(expect.objectContaining({ reason: 'int-range' }));
  });
});

// Values both sides represent identically: no undefined inside maps, integer keys only via Map.
const value = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 20 }),
    fc.array(tie('v'), { maxLength: 4 }) as fc.Arbitrary<CborValue>,
    fc.uniqueArray(fc.tuple(fc.integer({ min: -1000, max: 1000 }), tie('v')), { selector: (e) => e[0], maxLength: 4 }).map((e) => new Map<CborValue, CborValue>(e as [CborValue, CborValue][])),
  ),
})).v;

describe('CBOR vs cbor-x', () => {
  const xDecoder = new CborXDecoder({ mapsAsObjects: false, useRecords: false });
  const xEncoder = new CborXEncoder({ mapsAsObjects: false, useRecords: false, variableMapSize: true, tagUint8Array: false, useFloat32: 0 } as never);

  it('cbor-x decodes what we encode to the same value', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(normalize(xDecoder.decode(Buffer.from(encode(v))))).toEqual(normalize(v));
      }),
      { numRuns: 1500 },
    );
  });

  it('we decode what cbor-x encodes to the same value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = new Uint8Array(xEncoder.encode(v));
        const back = decode(bytes, { allowUnsortedKeys: true, allowNonPreferredFloats: true, maxDepth: 64 });
        expect(normalize(back)).toEqual(normalize(v));
      }),
      { numRuns: 1500 },
    );
  });
});

/** Buffers and Uint8Arrays compare equal; Maps compare by entries. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) {
    const entries = [...v.entries()].map(([k, x]) => [normalize(k), normalize(x)]);
    return { map: entries.sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1)) };
  }
  return v;
}

describe('CBOR decoder fuzz', () => {
  it('random and mutated bytes give only CborError, fast, without huge allocations', () => {
    const seedItems = fc.sample(value, { numRuns: 50, seed: 7 }).map((v) => encode(v));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.constantFrom(...seedItems), fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }), fc.nat(400)).map(
            ([b, flips, cut]) => {
              const m = b.slice(0, Math.max(1, Math.min(b.length, cut || b.length)));
              for (const [i, x] of flips) if (i < m.length) m[i] = x;
              return m;
            },
          ),
        ),
        (bytes) => {
          try {
            decode(bytes);
          } catch (err) {
            if (!(err instanceof CborError)) throw err;
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
