// The payload is read once: its SHA-256, the chunk digests and the ESP image parse (whose
// appended-hash check reuses a copy of the whole-payload hash where the hash can be copied) come
// from one pass. Whatever the hash implementation offers, the verdicts must be the same.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildChunkTable, digestPayload, PayloadChecker, pureHash, type Hash, type HashFactory } from '../protocol/ota/chunks.ts';
import { parseEspImage } from '../protocol/ota/esp-image.ts';
import { verifyPackage } from '../protocol/ota/policy.ts';
import { Sha256, sha256 } from '../protocol/ota/sha256.ts';
import { nodeHash, nodeVerifier } from '../host/crypto.ts';
import { assemble, assembleParts, manifestFor, pack, packParts } from '../ota/pack.ts';
import { signManifest } from '../ota/keys.ts';
import { CHIPS, loadFixture, packOptions, release, trust } from './ota-support.ts';

/** node:crypto without its copy and one-shot: the parser hashes for itself, with the injected hash. */
const plainNode: HashFactory = () => {
  const h = nodeHash();
  return { update: (b: Uint8Array) => h.update(b), digest: () => h.digest() };
};

function verdict(image: Uint8Array, payload: Uint8Array, cuts: number[], hash: HashFactory): string {
  const u = manifestFor(image, packOptions);
  const checker = new PayloadChecker(u.manifest, u.table, hash);
  try {
    let at = 0;
    for (const cut of [...cuts.filter((c) => c < payload.length).sort((a, b) => a - b), payload.length]) {
      checker.push(payload.subarray(at, cut));
      at = cut;
    }
    const info = checker.finish();
    return `ok ${info.imageLength}`;
  } catch (e) {
    return `${(e as { reason?: string }).reason}: ${(e as Error).message}`;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('one pass over an OTA payload', () => {
  it('gives the same verdict with node:crypto (copy, one-shot), without them, and with the pure SHA-256, in any cuts', () => {
    const image = loadFixture('esp32');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(image.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
        fc.integer({ min: -40, max: 40 }),
        fc.array(fc.nat(image.length + 40), { maxLength: 6 }),
        (flips, resize, cuts) => {
          const payload = new Uint8Array(Math.max(1, image.length + resize));
          payload.set(image.subarray(0, payload.length));
          for (const [i, x] of flips) if (i < payload.length) payload[i] = x;
          const want = verdict(image, payload, cuts, pureHash);
          expect(verdict(image, payload, cuts, nodeHash)).toBe(want);
          expect(verdict(image, payload, cuts, plainNode)).toBe(want);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('digestPayload is the parse, the SHA-256 and the chunk table, computed separately', () => {
    for (const chip of CHIPS) {
      const image = loadFixture(chip);
      for (const chunkSize of [4096, 1000, 0]) {
        for (const hash of [nodeHash, plainNode, pureHash]) {
          const d = digestPayload(image, chunkSize, hash);
          expect(d.sha256).toEqual(sha256(image));
          expect(d.table).toEqual(chunkSize ? buildChunkTable(image, chunkSize) : new Uint8Array(0));
          expect(d.info).toEqual(parseEspImage(image));
        }
      }
    }
  });

  it('packing and verifying with node:crypto read each payload byte twice (whole, chunk) and never with the pure SHA-256', () => {
    const image = loadFixture('esp32');
    const pureUpdate = vi.spyOn(Sha256.prototype, 'update');
    let hashed = 0;
    const counting: HashFactory = Object.assign(
      () => {
        const wrap = (h: Hash): Hash => ({ update: (b) => ((hashed += b.length), h.update(b)), digest: () => h.digest(), copy: () => wrap((h.copy as () => Hash)()) });
        return wrap(nodeHash());
      },
      { once: (b: Uint8Array) => ((hashed += b.length), (nodeHash.once as (b: Uint8Array) => Uint8Array)(b)) },
    );
    const pkg = pack(image, [release], packOptions);
    const tableBytes = Math.ceil(image.length / 4096) * 32;
    verifyPackage(pkg, trust, nodeVerifier, undefined, counting);
    expect(hashed).toBe(2 * image.length + tableBytes);
    hashed = 0;
    digestPayload(image, 4096, counting);
    expect(hashed).toBe(2 * image.length);
    // (the trust store's key ids are pure-TS digests of 65-byte keys; no image byte goes there)
    expect(pureUpdate.mock.calls.reduce((n, [b]) => n + b.length, 0)).toBeLessThan(200);
  });

  it('packParts is the package pack makes, in two pieces, the image itself uncopied', () => {
    const image = loadFixture('esp32');
    const u = manifestFor(image, packOptions);
    const sigs = [signManifest(u.manifestBytes, release)]; // ES256 signatures are randomised: sign once
    const [head, tail] = assembleParts(u.manifestBytes, sigs, u.table, image);
    expect(tail).toBe(image);
    expect(Buffer.concat([head, tail]).equals(assemble(u.manifestBytes, sigs, u.table, image))).toBe(true);
    const { parts } = packParts(image, [release], packOptions);
    expect(verifyPackage(Buffer.concat(parts), trust, nodeVerifier, undefined, nodeHash).manifest.seq).toBe(packOptions.seq);
  });
});
