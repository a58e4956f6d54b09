import { createHash, sign as nodeSign, verify as nodeVerify, createPublicKey, randomBytes, generateKeyPairSync } from 'node:crypto';
// @ts-expect-error cose-js ships no types
import cose from 'cose-js';
import { describe, expect, it } from 'vitest';
import { decode, encode, Tagged, type CborValue } from '../protocol/cbor/index.ts';
import { buildChunkTable } from '../protocol/ota/chunks.ts';
import { ALG_EDDSA, ALG_ES256, EXTERNAL_AAD, encodeProtected, sigStructure, type CoseSignature } from '../protocol/ota/cose.ts';
import { encodeManifest, MANIFEST_KEYS, type Manifest } from '../protocol/ota/manifest.ts';
import { buildPackage, encodeEnvelope, parsePackage, toHex, type PackageParts } from '../protocol/ota/package.ts';
import { OtaInstaller } from '../protocol/ota/installer.ts';
import { MemoryRecordStore, VirtualFlash } from '../sim/virtual-flash.ts';
import { p256Verify } from '../protocol/ota/p256.ts';
import { verifyPackage, type DeviceContext } from '../protocol/ota/policy.ts';
import { OTA_REASONS, OtaError } from '../protocol/ota/reasons.ts';
import { kidOf, parseTrustStore, trustStoreJson, type TrustStore } from '../protocol/ota/trust.ts';
import { pureVerifier } from '../protocol/ota/verifier.ts';
import { signManifest, type SigningKey } from '../ota/keys.ts';
import { nodeVerifier } from '../host/crypto.ts';
import { assemble, manifestFor, pack } from '../ota/pack.ts';
import { CHIPS, deviceContext, edKey, field, loadFixture, packOptions, reasonOf, release, release2, stranger, trust, trustOf } from './ota-support.ts';

const image = loadFixture('esp32');
const u = manifestFor(image, packOptions);
const good = pack(image, [release], packOptions);
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

// Reasons decided from the offer alone (envelope, manifest, policy, chunk table), before any flash.
const OFFER_TIME = new Set(['cbor', 'envelope', 'signature', 'manifest', 'class', 'target', 'rollback', 'prerequisite', 'expired', 'size']);

/**
 * The CLI's verdict; and for every package that can be split, the device installer's verdict on
 * its offer over a virtual flash, which must agree for offer-time reasons and must leave the flash
 * unerased and unwritten whenever it refuses.
 */
function thrown(f: () => unknown): OtaError {
  try {
    f();
  } catch (e) {
    if (e instanceof OtaError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

function check(pkg: Uint8Array, t: TrustStore = trust, dev: DeviceContext | undefined = deviceContext()): string {
  const verdict = reasonOf(() => verifyPackage(pkg, t, nodeVerifier, dev));
  let parts: PackageParts | undefined;
  try {
    parts = parsePackage(pkg);
  } catch {
    // Framing faults never reach a device as an offer.
  }
  if (dev && parts) {
    const flash = new VirtualFlash({ slotSize: dev.partitionSize });
    const store = new MemoryRecordStore();
    store.save('state', encode(new Map<CborValue, CborValue>([[1, dev.installedSeq], [2, []], [3, 0]])));
    const { installedSeq: _s, now: _n, partitionSize: _p, ...identity } = dev;
    const installer = new OtaInstaller({ flash, store, trust: t, verifier: nodeVerifier, device: identity });
    installer.boot();
    const offer = reasonOf(() => installer.offer(parts.envelopeBytes, parts.table, dev.now));
    if (OFFER_TIME.has(verdict)) expect(offer, 'installer offer verdict').toBe(verdict);
    if (offer !== 'ok') expect([flash.erases, flash.writes], 'flash touched by a refused offer').toEqual([0, 0]);
    else expect(OFFER_TIME.has(verdict), `offer accepted what verify refused (${verdict})`).toBe(false);
  }
  return verdict;
}

function rawSign(k: SigningKey, protectedBytes: Uint8Array, manifestBytes: Uint8Array, aad = EXTERNAL_AAD): Uint8Array {
  const msg = sigStructure(protectedBytes, manifestBytes, aad);
  return new Uint8Array(k.alg === ALG_ES256 ? nodeSign('sha256', msg, { key: k.key, dsaEncoding: 'ieee-p1363' }) : nodeSign(null, msg, k.key));
}

/** A package whose envelope is [manifestBytes, items] encoded as given. */
function withItems(items: CborValue[], manifestBytes = u.manifestBytes): Uint8Array {
  return buildPackage(encode([manifestBytes, items]), u.table, image);
}

function sign1(prot: Uint8Array, sig: Uint8Array, unprot: CborValue = new Map(), payload: CborValue = null, tag = 18): Tagged {
  return new Tagged(tag, [prot, unprot, payload, sig]);
}

const prot = encodeProtected(ALG_ES256, release.kid);
const goodSig = rawSign(release, prot, u.manifestBytes);

/** A signed package from manifest fields (table and payload follow the manifest unless given). */
function signed(over: Partial<Manifest> | Uint8Array, keys: SigningKey[] = [release], payload = image, table?: Uint8Array): Uint8Array {
  const bytes = over instanceof Uint8Array ? over : encodeManifest({ ...u.manifest, ...over });
  return assemble(bytes, keys.map((k) => signManifest(bytes, k)), table ?? u.table, payload);
}

/** Manifest map with raw edits, encoded deterministically. */
function manifestMap(edit: (m: Map<CborValue, CborValue>) => void): Uint8Array {
  const m = decode(u.manifestBytes) as Map<CborValue, CborValue>;
  edit(m);
  return encode(m);
}

describe('P-256 verifier in plain BigInt', () => {
  it('agrees with node:crypto on valid and tampered signatures', () => {
    for (let i = 0; i < 12; i++) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const raw = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })).subarray(26);
      const msg = randomBytes(40 + i);
      const sig = new Uint8Array(nodeSign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
      expect(p256Verify(raw, sha(msg), sig)).toBe(true);
      const bad = sig.slice();
      bad[i * 5] ^= 1 << i % 8;
      expect(p256Verify(raw, sha(msg), bad)).toBe(nodeVerify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, bad));
      expect(p256Verify(raw, sha(randomBytes(8)), sig)).toBe(false);
    }
  });

  it('refuses r or s of zero or at least n, and keys off the curve', () => {
    const raw = release.spki.subarray(26);
    const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
    const d = sha(u.manifestBytes);
    const s = goodSig.subarray(32);
    const r = goodSig.subarray(0, 32);
    for (const [rr, ss] of [[new Uint8Array(32), s], [r, new Uint8Array(32)], [n, s], [r, n], [new Uint8Array(32).fill(0xff), s]]) {
      expect(p256Verify(raw, d, new Uint8Array([...rr, ...ss]))).toBe(false);
    }
    const offCurve = raw.slice();
    offCurve[64] ^= 1;
    expect(p256Verify(offCurve, sha(sigStructure(prot, u.manifestBytes)), goodSig)).toBe(false);
    expect(p256Verify(raw, sha(sigStructure(prot, u.manifestBytes)), goodSig)).toBe(true);
  });
});

describe('signatures read by independent implementations', () => {
  it('node:crypto verifies the Sig_structure we sign, byte for byte as RFC 9052 defines it', () => {
    const { envelope } = parsePackage(good);
    const s = envelope.signatures[0];
    // ["Signature1", protected, external_aad, payload] spelled out by hand.
    const expected = encode(['Signature1', encode(new Map<CborValue, CborValue>([[1, -7], [4, release.kid]])), new TextEncoder().encode('canopy-ota-v1'), u.manifestBytes]);
    expect(toHex(sigStructure(s.protectedBytes, envelope.manifestBytes))).toBe(toHex(expected));
    expect(nodeVerify('sha256', expected, { key: createPublicKey(release.key), dsaEncoding: 'ieee-p1363' }, s.signature)).toBe(true);
  });

  it('cose-js verifies our COSE_Sign1 once the detached manifest is put back', async () => {
    const { envelope } = parsePackage(good);
    const s = envelope.signatures[0];
    const attached = encode(sign1(s.protectedBytes, s.signature, new Map(), envelope.manifestBytes));
    const jwk = createPublicKey(release.key).export({ format: 'jwk' });
    const verifier = { key: { x: Buffer.from(jwk.x as string, 'base64url'), y: Buffer.from(jwk.y as string, 'base64url') }, externalAAD: Buffer.from(EXTERNAL_AAD) };
    const payload = await cose.sign.verify(Buffer.from(attached), verifier);
    expect(toHex(new Uint8Array(payload))).toBe(toHex(u.manifestBytes));
    const tampered = Buffer.from(attached);
    tampered[tampered.length - 1] ^= 1;
    await expect(cose.sign.verify(tampered, verifier)).rejects.toThrow();
    await expect(cose.sign.verify(Buffer.from(attached), { ...verifier, externalAAD: Buffer.from('other') })).rejects.toThrow();
  });
});

describe('fixture images', () => {
  for (const chip of CHIPS) {
    it(`${chip}: packs, verifies with node:crypto and with the pure verifier`, () => {
      const img = loadFixture(chip);
      const pkg = pack(img, [release], packOptions);
      const chipId = pkg ? manifestFor(img, packOptions).manifest.chipId : 0;
      const dev = deviceContext({ chipId, chipRevision: undefined });
      const v = verifyPackage(pkg, trust, nodeVerifier, dev);
      expect(v.manifest.size).toBe(img.length);
      expect(v.image.header.chipId).toBe(chipId);
      expect(verifyPackage(pkg, trust, pureVerifier, dev).manifest.seq).toBe(5);
      expect(toHex(parsePackage(pkg).payload)).toBe(toHex(img)); // the image travels unmodified
    });
  }

  it('packing is deterministic up to the signature, and refuses a bootloader image', () => {
    expect(toHex(manifestFor(image, packOptions).manifestBytes)).toBe(toHex(u.manifestBytes));
    expect(reasonOf(() => pack(loadFixture('esp32', 'bootloader.bin'), [release], packOptions))).toBe('esp-image');
    expect(reasonOf(() => pack(new Uint8Array(100), [release], packOptions))).toBe('esp-image');
  });

  it('accepts Ed25519 on the host, 2-of-n thresholds, and ignores signatures by unknown keys when enough are trusted', () => {
    expect(check(pack(image, [edKey], packOptions))).toBe('ok');
    expect(reasonOf(() => verifyPackage(pack(image, [edKey], packOptions), trust, pureVerifier))).toBe('signature');
    // A device without Ed25519 skips the EdDSA signature and counts the ES256 one.
    expect(reasonOf(() => verifyPackage(pack(image, [edKey, release], packOptions), trust, pureVerifier))).toBe('ok');
    const two = trustOf([[release, 'release'], [release2, 'release']], 2);
    expect(check(pack(image, [release, release2], packOptions), two)).toBe('ok');
    expect(check(pack(image, [stranger, release, release2], packOptions), two)).toBe('ok');
    expect(check(pack(image, [release], packOptions), two)).toBe('signature');
  });

  it('round-trips the trust store JSON and checks kids', () => {
    const j = trustStoreJson(trust);
    expect(parseTrustStore(JSON.parse(JSON.stringify(j)))).toEqual(trust);
    expect(j.keys[0].kid).toBe(toHex(kidOf(release.spki)));
    expect(() => parseTrustStore({ ...j, keys: [{ ...j.keys[0], kid: '0011223344556677' }] })).toThrow('does not match');
    expect(() => parseTrustStore({ ...j, threshold: 5 })).toThrow('threshold');
  });
});

describe('bad envelopes, COSE and CBOR', () => {
  const cases: [string, () => Uint8Array, keyof typeof OTA_REASONS][] = [
    ['unknown kid only', () => pack(image, [stranger], packOptions), 'signature'],
    ['threshold not met', () => pack(image, [release], packOptions), 'signature'], // checked with threshold 2 below
    ['bit flip in the signature', () => withItems([sign1(prot, goodSig.map((b, i) => (i === 10 ? b ^ 4 : b)))]), 'signature'],
    ['bit flip in the manifest', () => withItems([sign1(prot, goodSig)], u.manifestBytes.map((b, i) => (i === 30 ? b ^ 1 : b))), 'signature'],
    ['alg swapped to EdDSA on a P-256 kid', () => withItems([sign1(encodeProtected(ALG_EDDSA, release.kid), goodSig)]), 'signature'],
    ['extra protected header field', () => {
      const p = encode(new Map<CborValue, CborValue>([[1, -7], [3, 0], [4, release.kid]]));
      return withItems([sign1(p, rawSign(release, p, u.manifestBytes))]);
    }, 'envelope'],
    ['unprotected header field', () => withItems([sign1(prot, goodSig, new Map<CborValue, CborValue>([[4, release.kid]]))]), 'envelope'],
    ['attached payload', () => withItems([sign1(prot, goodSig, new Map(), u.manifestBytes)]), 'envelope'],
    ['wrong tag (COSE_Sign, 98)', () => withItems([sign1(prot, goodSig, new Map(), null, 98)]), 'envelope'],
    ['untagged COSE_Sign1', () => withItems([[prot, new Map(), null, goodSig]]), 'envelope'],
    ['signature of 63 bytes', () => withItems([sign1(prot, goodSig.subarray(0, 63))]), 'envelope'],
    ['signature of 65 bytes', () => withItems([sign1(prot, new Uint8Array([...goodSig, 0]))]), 'envelope'],
    ['signature of 72 bytes (DER)', () => withItems([sign1(prot, new Uint8Array(72))]), 'envelope'],
    ['r = 0', () => withItems([sign1(prot, new Uint8Array([...new Uint8Array(32), ...goodSig.subarray(32)]))]), 'signature'],
    ['s >= n', () => withItems([sign1(prot, new Uint8Array([...goodSig.subarray(0, 32), ...new Uint8Array(32).fill(0xff)]))]), 'signature'],
    ['wrong AAD', () => withItems([sign1(prot, rawSign(release, prot, u.manifestBytes, new Uint8Array(0)))]), 'signature'],
    ['5 signatures', () => withItems([release, release2, field, edKey, stranger].map((k) => { const s = signManifest(u.manifestBytes, k); return sign1(s.protectedBytes, s.signature); })), 'envelope'],
    ['no signatures', () => withItems([]), 'envelope'],
    ['duplicate kid', () => withItems([sign1(prot, goodSig), sign1(prot, goodSig)]), 'envelope'],
    ['non-minimal integer in the envelope head', () => {
      const env = encode([u.manifestBytes, [sign1(prot, goodSig)]]);
      return buildPackage(new Uint8Array([0x98, 0x02, ...env.subarray(1)]), u.table, image);
    }, 'cbor'],
    ['unsorted protected header keys', () => {
      const p = new Uint8Array([0xa2, 0x04, 0x48, ...release.kid, 0x01, 0x26]);
      return withItems([sign1(p, rawSign(release, p, u.manifestBytes))]);
    }, 'cbor'],
    ['duplicate protected header keys', () => {
      const p = new Uint8Array([0xa2, 0x01, 0x26, 0x01, 0x26]);
      return withItems([sign1(p, goodSig)]);
    }, 'cbor'],
    ['indefinite-length envelope', () => {
      const env = encode([u.manifestBytes, [sign1(prot, goodSig)]]);
      return buildPackage(new Uint8Array([0x9f, ...env.subarray(1), 0xff]), u.table, image);
    }, 'cbor'],
    ['float in the envelope', () => withItems([sign1(prot, goodSig, new Map<CborValue, CborValue>([[1, 1.5]]))]), 'cbor'],
    ['64-bit integer in the envelope', () => withItems([sign1(prot, goodSig, new Map<CborValue, CborValue>([[1, 2n ** 60n]]))]), 'cbor'],
    ['unknown tag around the envelope', () => buildPackage(encode(new Tagged(55799, [u.manifestBytes, [sign1(prot, goodSig)]])), u.table, image), 'cbor'],
    ['excessive depth', () => {
      let deep: CborValue = 0;
      for (let i = 0; i < 10; i++) deep = [deep];
      return withItems([sign1(prot, goodSig, new Map<CborValue, CborValue>([[1, deep]]))]);
    }, 'cbor'],
    ['trailing bytes inside the envelope frame', () => buildPackage(new Uint8Array([...encode([u.manifestBytes, [sign1(prot, goodSig)]]), 0]), u.table, image), 'cbor'],
    ['invalid UTF-8 in the envelope', () => buildPackage(new Uint8Array([0x82, 0x62, 0xc3, 0x28, 0x80]), u.table, image), 'cbor'],
    // Signed manifests that are not strict CBOR: authentic bytes still have to be well-formed.
    ['signed manifest with unsorted keys', () => {
      return signed(new Uint8Array([0xa2, 0x02, 0x05, 0x01, 0x01])); // {2: 5, 1: 1}
    }, 'cbor'],
    ['signed manifest with a float', () => signed(manifestMap((m) => m.set(MANIFEST_KEYS.seq, 5.5))), 'cbor'],
    ['signed manifest with a 64-bit integer', () => signed(manifestMap((m) => m.set(MANIFEST_KEYS.seq, 2n ** 62n))), 'cbor'],
    ['signed manifest with invalid UTF-8', () => {
      const m = manifestMap((mm) => mm.set(MANIFEST_KEYS.info, 'xx'));
      const at = m.lastIndexOf(0x78); // "xx" is the last text; corrupt it
      m[at] = 0xc3;
      m[at + 1] = 0x28;
      return signed(m);
    }, 'cbor'],
    ['signed manifest with a tag', () => signed(manifestMap((m) => m.set(MANIFEST_KEYS.info, new Tagged(1, 0)))), 'cbor'],
  ];
  for (const [name, make, reason] of cases) {
    it(`${name} → ${reason}`, () => {
      const t = name === 'threshold not met' ? trustOf([[release, 'release'], [release2, 'release']], 2) : trust;
      expect(check(make(), t)).toBe(reason);
    });
  }
});

describe('framing', () => {
  it('bad magic, version, lengths, truncation and trailing bytes', () => {
    const edit = (f: (b: Uint8Array) => void) => {
      const b = good.slice();
      f(b);
      return b;
    };
    expect(check(edit((b) => (b[0] = 0x42)))).toBe('frame');
    expect(check(edit((b) => (b[4] = 2)))).toBe('frame');
    expect(check(edit((b) => b.fill(0, 5, 9)))).toBe('frame');
    expect(check(edit((b) => (b[12] = 1)))).toBe('frame'); // table length not a multiple of 32
    expect(check(good.subarray(0, 10))).toBe('truncated');
    expect(check(good.subarray(0, 200))).toBe('truncated');
    expect(check(good.subarray(0, good.length - 1))).toBe('truncated');
    expect(check(new Uint8Array([...good, 0]))).toBe('trailing');
  });
});

describe('policy', () => {
  const cases: [string, () => Uint8Array, Partial<DeviceContext>, keyof typeof OTA_REASONS][] = [
    ['other format version', () => signed({ version: 2 }), {}, 'manifest'],
    ['missing key', () => signed(manifestMap((m) => m.delete(MANIFEST_KEYS.sha256))), {}, 'manifest'],
    ['unknown key', () => signed(manifestMap((m) => m.set(99, 1))), {}, 'manifest'],
    ['ill-typed field', () => signed(manifestMap((m) => m.set(MANIFEST_KEYS.project, 7))), {}, 'manifest'],
    ['wrong vendor', () => good, { vendor: new Uint8Array(16) }, 'class'],
    ['wrong class', () => good, { class: new Uint8Array(16) }, 'class'],
    ['device not listed', () => signed({ devices: ['dev-2', 'dev-3'] }), {}, 'target'],
    ['seq equal', () => good, { installedSeq: 5 }, 'rollback'],
    ['seq lower', () => good, { installedSeq: 9 }, 'rollback'],
    ['min-seq not met', () => signed({ minSeq: 4 }), { installedSeq: 3 }, 'prerequisite'],
    ['expired', () => signed({ expires: 1_700_000_000 }), {}, 'expired'],
    ['size 0', () => signed({ size: 0 }), {}, 'size'],
    ['too big for the partition', () => good, { partitionSize: image.length - 1 }, 'size'],
    ['chip id mismatch', () => good, { chipId: 5 }, 'esp-mismatch'],
    ['chip revision out of range', () => signed({ maxChipRev: 99 }), { chipRevision: 300 }, 'esp-mismatch'],
    ['secure_version below the eFuse floor', () => good, { secureVersion: 1 }, 'rollback'],
    ['field key without device list', () => signed({ expires: 1_900_000_000 }, [field]), {}, 'target'],
    ['field key without expiry', () => signed({ devices: ['dev-1'] }, [field]), {}, 'target'],
  ];
  for (const [name, make, dev, reason] of cases) {
    it(`${name} → ${reason}`, () => expect(check(make(), trust, deviceContext(dev))).toBe(reason));
  }

  it('a chip mismatch names both chips, not only their ids', () => {
    const e = thrown(() => verifyPackage(good, trust, nodeVerifier, deviceContext({ chipId: 5 })));
    expect([e.reason, e.detail]).toEqual(['esp-mismatch', 'the image is built for ESP32 (chip id 0), but this device is an ESP32-C3 (chip id 5)']);
    const unknown = thrown(() => verifyPackage(good, trust, nodeVerifier, deviceContext({ chipId: 42 })));
    expect(unknown.detail).toBe('the image is built for ESP32 (chip id 0), but this device is an unknown chip (chip id 42)');
  });

  it('accepts what those cases refuse when it is right', () => {
    expect(check(signed({ devices: ['dev-1'], expires: 1_900_000_000 }, [field]))).toBe('ok');
    expect(check(signed({ minSeq: 4 }))).toBe('ok');
    expect(check(signed({ expires: 1_700_000_000 }), trust, deviceContext({ now: undefined }))).toBe('ok');
  });
});

describe('payload', () => {
  const cs = u.manifest.chunkSize as number;
  const flip = (at: number) => image.map((b, i) => (i === at ? b ^ 0x10 : b));
  const other = loadFixture('esp32-c3');
  const cases: [string, () => Uint8Array, keyof typeof OTA_REASONS][] = [
    ['one byte short', () => buildPackage(parsePackage(good).envelopeBytes, u.table, image.subarray(0, image.length - 1)), 'truncated'],
    ['one byte extra', () => buildPackage(parsePackage(good).envelopeBytes, u.table, new Uint8Array([...image, 0])), 'trailing'],
    ['bit flip in the first chunk', () => buildPackage(parsePackage(good).envelopeBytes, u.table, flip(3)), 'chunk'],
    ['bit flip in a middle chunk', () => buildPackage(parsePackage(good).envelopeBytes, u.table, flip(cs * 10 + 7)), 'chunk'],
    ['bit flip in the last chunk', () => buildPackage(parsePackage(good).envelopeBytes, u.table, flip(image.length - 1)), 'chunk'],
    ['bit flip without a chunk table', () => {
      const nt = manifestFor(image, { ...packOptions, chunkSize: 0 });
      return assemble(nt.manifestBytes, [signManifest(nt.manifestBytes, release)], nt.table, flip(cs * 10));
    }, 'digest'],
    ['swapped chunk table entries', () => {
      const t = u.table.slice();
      t.set(u.table.subarray(32, 64), 0);
      t.set(u.table.subarray(0, 32), 32);
      return buildPackage(parsePackage(good).envelopeBytes, t, image);
    }, 'chunk'],
    ['truncated chunk table', () => buildPackage(parsePackage(good).envelopeBytes, u.table.subarray(0, u.table.length - 32), image), 'chunk'],
    ['chunk table dropped', () => buildPackage(parsePackage(good).envelopeBytes, new Uint8Array(0), image), 'chunk'],
    ['payload from another build, table and all', () => buildPackage(parsePackage(good).envelopeBytes, buildChunkTable(other, cs), other), 'chunk'],
    ['payload from another build of the same length', () => {
      const alt = flip(image.length - 40); // hash block edit: a different build as far as the digest knows
      return signed({ sha256: sha(image) }, [release], alt, buildChunkTable(alt, cs)).map((b) => b);
    }, 'chunk'],
    ['non-ESP payload, correctly signed', () => {
      const junk = new Uint8Array(image.length).fill(0x5a);
      return signed({ sha256: sha(junk), chunkTableSha256: sha(buildChunkTable(junk, cs)) }, [release], junk, buildChunkTable(junk, cs));
    }, 'esp-image'],
    ['ESP fields disagree with the image', () => signed({ project: 'other_project' }), 'esp-mismatch'],
    ['app version disagrees', () => signed({ appVersion: 'v9.9' }), 'esp-mismatch'],
  ];
  for (const [name, make, reason] of cases) {
    it(`${name} → ${reason}`, () => expect(check(make())).toBe(reason));
  }

  it('a manifest that claims another chip than its image names both chips', () => {
    const e = thrown(() => verifyPackage(signed({ chipId: 5 }), trust, nodeVerifier));
    expect([e.reason, e.detail]).toEqual(['esp-mismatch', 'chipId: the image is built for ESP32 (chip id 0), the manifest says ESP32-C3 (chip id 5)']);
  });
});

describe('encoders refuse to emit what the decoders refuse', () => {
  it('an invalid manifest or too many signatures cannot be signed or framed', () => {
    expect(reasonOf(() => encodeManifest({ ...u.manifest, chunkSize: undefined }))).toBe('manifest');
    expect(reasonOf(() => encodeManifest({ ...u.manifest, seq: -1 }))).toBe('manifest');
    const s: CoseSignature = signManifest(u.manifestBytes, release);
    expect(reasonOf(() => encodeEnvelope(u.manifestBytes, [s, s, s, s, s]))).toBe('envelope');
  });
});
