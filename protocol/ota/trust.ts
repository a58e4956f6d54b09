// Trust store: the keys a device accepts, each pinned to one algorithm and a role, plus how many
// distinct trusted signatures a package needs. Keys travel as SPKI DER (what `canopy ota pubkey`
// prints); the kid is the first 8 bytes of SHA-256 over that DER, so anyone can recompute it.

import { ALG_EDDSA, ALG_ES256, KID_LENGTH, type CoseAlg } from './cose';
import { fromHex, toHex } from './bytes';
import { sha256 } from './sha256';

export type KeyRole = 'release' | 'field';

export interface TrustedKey {
  kid: Uint8Array;
  alg: CoseAlg;
  role: KeyRole;
  spki: Uint8Array;
  /** Raw key: a 65-byte uncompressed P-256 point, or a 32-byte Ed25519 key. */
  publicKey: Uint8Array;
}

export interface TrustStore {
  threshold: number;
  keys: TrustedKey[];
}

/** The JSON form, as written by `canopy ota pubkey` and embedded in device builds. */
export interface TrustStoreJson {
  version: 1;
  threshold: number;
  keys: { kid: string; alg: 'ES256' | 'EdDSA'; role: KeyRole; spki: string }[];
}

export class TrustError extends Error {
  override name = 'TrustError';
}

const P256_SPKI_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');
const ED25519_SPKI_PREFIX = fromHex('302a300506032b6570032100');

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

export function kidOf(spki: Uint8Array): Uint8Array {
  return sha256(spki).slice(0, KID_LENGTH);
}

/** The algorithm and raw key of an SPKI DER, for the two key types Canopy accepts. */
export function rawKeyOf(spki: Uint8Array): { alg: CoseAlg; publicKey: Uint8Array } {
  if (spki.length === P256_SPKI_PREFIX.length + 65 && startsWith(spki, P256_SPKI_PREFIX)) {
    return { alg: ALG_ES256, publicKey: spki.slice(P256_SPKI_PREFIX.length) };
  }
  if (spki.length === ED25519_SPKI_PREFIX.length + 32 && startsWith(spki, ED25519_SPKI_PREFIX)) {
    return { alg: ALG_EDDSA, publicKey: spki.slice(ED25519_SPKI_PREFIX.length) };
  }
  throw new TrustError('public key is neither a P-256 nor an Ed25519 SPKI');
}

export function trustedKey(spki: Uint8Array, role: KeyRole = 'release'): TrustedKey {
  const { alg, publicKey } = rawKeyOf(spki);
  return { kid: kidOf(spki), alg, role, spki, publicKey };
}

export function parseTrustStore(json: unknown): TrustStore {
  const j = json as TrustStoreJson;
  if (!j || typeof j !== 'object' || j.version !== 1 || !Array.isArray(j.keys)) {
    throw new TrustError('trust store must be {"version": 1, "threshold": n, "keys": [...]}');
  }
  if (j.keys.length === 0) throw new TrustError('trust store has no keys');
  const keys: TrustedKey[] = [];
  const seen = new Set<string>();
  for (const [i, k] of j.keys.entries()) {
    if (k.role !== 'release' && k.role !== 'field') throw new TrustError(`key ${i}: role must be "release" or "field"`);
    let key: TrustedKey;
    try {
      key = trustedKey(fromHex(k.spki), k.role);
    } catch (e) {
      throw new TrustError(`key ${i}: ${(e as Error).message}`);
    }
    const kid = toHex(key.kid);
    if (k.kid !== kid) throw new TrustError(`key ${i}: kid ${k.kid} does not match its key (${kid})`);
    if ((k.alg === 'ES256' ? ALG_ES256 : k.alg === 'EdDSA' ? ALG_EDDSA : 0) !== key.alg) {
      throw new TrustError(`key ${i}: alg ${k.alg} does not match the key type`);
    }
    if (seen.has(kid)) throw new TrustError(`key ${i}: kid ${kid} listed twice`);
    seen.add(kid);
    keys.push(key);
  }
  const threshold = j.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > Math.min(4, keys.length)) {
    throw new TrustError(`threshold ${threshold} must be 1..${Math.min(4, keys.length)}`);
  }
  return { threshold, keys };
}

export function trustStoreJson(store: TrustStore): TrustStoreJson {
  return {
    version: 1,
    threshold: store.threshold,
    keys: store.keys.map((k) => ({ kid: toHex(k.kid), alg: k.alg === ALG_ES256 ? 'ES256' : 'EdDSA', role: k.role, spki: toHex(k.spki) })),
  };
}
