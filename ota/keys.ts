// Host-side keys: generate, load and sign with node:crypto. ES256 signatures are raw r‖s
// ('ieee-p1363'), which is what COSE wants and what the device's verifier reads.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hash, sign, verify, type Hash, type KeyObject } from 'node:crypto';
import { ALG_EDDSA, ALG_ES256, encodeProtected, sigStructure, type CoseAlg, type CoseSignature } from '../protocol/ota/cose.ts';
import type { Hash as ProtocolHash, HashFactory } from '../protocol/ota/sha256.ts';
import { kidOf } from '../protocol/ota/trust.ts';
import type { SignatureVerifier } from '../protocol/ota/verifier.ts';

export type KeyAlgName = 'ES256' | 'EdDSA';

export interface SigningKey {
  alg: CoseAlg;
  kid: Uint8Array;
  spki: Uint8Array;
  key: KeyObject;
}

export function generateKeyPem(alg: KeyAlgName = 'ES256'): string {
  const { privateKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
}

export function signingKey(pem: string | Buffer): SigningKey {
  const key = createPrivateKey(pem);
  let alg: CoseAlg;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = ALG_ES256;
  else if (key.asymmetricKeyType === 'ed25519') alg = ALG_EDDSA;
  else throw new Error(`key type ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''} is not P-256 or Ed25519`);
  const spki = spkiOf(key);
  return { alg, kid: kidOf(spki), spki, key };
}

/** A detached COSE_Sign1 over `manifestBytes`. */
export function signManifest(manifestBytes: Uint8Array, k: SigningKey): CoseSignature {
  const protectedBytes = encodeProtected(k.alg, k.kid);
  const message = sigStructure(protectedBytes, manifestBytes);
  const signature =
    k.alg === ALG_ES256 ? sign('sha256', message, { key: k.key, dsaEncoding: 'ieee-p1363' }) : sign(null, message, k.key);
  return { alg: k.alg, kid: k.kid, protectedBytes, signature: new Uint8Array(signature) };
}

const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// Parsing a public key costs more than the verify itself (a third of a 1.5 MB SHA-256 pass);
// a trust store holds a handful, so they are parsed once. Bounded all the same.
const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(alg: CoseAlg, publicKey: Uint8Array): KeyObject {
  const id = `${alg}:${Buffer.from(publicKey).toString('hex')}`;
  let key = publicKeys.get(id);
  if (!key) {
    const prefix = alg === ALG_ES256 ? P256_SPKI_PREFIX : ED25519_SPKI_PREFIX;
    key = createPublicKey({ key: Buffer.concat([prefix, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size >= 64) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/** node:crypto behind the protocol's SignatureVerifier. */
export const nodeVerifier: SignatureVerifier = {
  verify(alg, publicKey, message, signature) {
    try {
      const key = publicKeyObject(alg, publicKey);
      if (alg === ALG_ES256) return verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
      return verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};

/** node:crypto SHA-256 in the protocol's HashFactory shape, with its copy and one-shot. */
export const nodeHash: HashFactory = Object.assign(() => nodeSha256(createHash('sha256')), {
  once: (b: Uint8Array) => asBytes(hash('sha256', b, 'buffer')),
});

function nodeSha256(h: Hash): ProtocolHash {
  return {
    update(b: Uint8Array) {
      h.update(b);
    },
    digest: () => asBytes(h.digest()),
    copy: () => nodeSha256(h.copy()),
  };
}

const asBytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);
