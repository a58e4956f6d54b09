import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256 } from '../protocol/ota/sha256.ts';

const reference = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(hex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('matches node:crypto at every length around the 55/56/64-byte padding edges', () => {
    const data = new Uint8Array(200).map((_, i) => (i * 37 + 11) & 0xff);
    for (let n = 0; n <= 200; n++) expect(hex(sha256(data.subarray(0, n)))).toBe(hex(reference(data.subarray(0, n))));
  });

  it('matches node:crypto on random inputs split into random update calls', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 12 }),
        (data, cuts) => {
          const h = new Sha256();
          const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const p of points) {
            h.update(data.subarray(from, p));
            from = p;
          }
          h.update(data.subarray(from));
          expect(hex(h.digest())).toBe(hex(reference(data)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hashes a megabyte fed one odd-sized piece at a time', () => {
    const data = new Uint8Array(1 << 20).map((_, i) => (i ^ (i >>> 8) ^ (i >>> 16)) & 0xff);
    const h = new Sha256();
    for (let i = 0; i < data.length; i += 4093) h.update(data.subarray(i, i + 4093));
    expect(hex(h.digest())).toBe(hex(reference(data)));
  });

  it('refuses use after digest instead of returning a wrong hash', () => {
    const h = new Sha256().update(new Uint8Array([1]));
    h.digest();
    expect(() => h.update(new Uint8Array([2]))).toThrow('Sha256.update after digest');
    expect(() => h.digest()).toThrow('Sha256.digest called twice');
  });
});
