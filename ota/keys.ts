// Host-side keys: generate, load and sign with node:crypto. ES256 signatures are raw r‖s
// ('ieee-p1363'), which is what COSE wants and what the device's verifier reads.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ALG_EDDSA, ALG_ES256, encodeProtected, sigStructure, type CoseAlg, type CoseSignature } from '../protocol/ota/cose.ts';
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

/** node:crypto behind the protocol's SignatureVerifier. */
export const nodeVerifier: SignatureVerifier = {
  verify(alg, publicKey, message, signature) {
    try {
      if (alg === ALG_ES256) {
        const key = createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
        return verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
      }
      const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
      return verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};

/** node:crypto SHA-256 in the protocol's HashFactory shape. */
export const nodeHash = () => {
  const h = createHash('sha256');
  return {
    update(b: Uint8Array) {
      h.update(b);
    },
    digest: () => new Uint8Array(h.digest()),
  };
};
