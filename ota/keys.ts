// Host-side keys: generate, load and sign with node:crypto. ES256 signatures are raw r‖s
// ('ieee-p1363'), which is what COSE wants and what the device's verifier reads.
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { readPrivateKey, readPublicKey, UserFileError } from '../host/user-file.ts';
import { ALG_EDDSA, ALG_ES256, encodeProtected, sigStructure, type CoseAlg, type CoseSignature } from '../protocol/ota/cose.ts';
import type { Hash as ProtocolHash, HashFactory } from '../protocol/ota/sha256.ts';
import { kidOf } from '../protocol/ota/trust.ts';

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

export function signingKey(pem: string | Buffer | KeyObject): SigningKey {
  const key = pem instanceof KeyObject ? pem : createPrivateKey(pem);
  let alg: CoseAlg;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = ALG_ES256;
  else if (key.asymmetricKeyType === 'ed25519') alg = ALG_EDDSA;
  else throw new Error(`key type ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''} is not P-256 or Ed25519`);
  const spki = spkiOf(key);
  return { alg, kid: kidOf(spki), spki, key };
}

/** What `--key` should name. */
export const SIGNING_KEY_EXPECTED = 'the private key file `canopy ota keygen` wrote';

/** `--key FILE` of pack and sign: a P-256 or Ed25519 private key, or a sentence naming the file. */
export function readSigningKey(path: string): SigningKey {
  const key = readPrivateKey(path, 'signing key', SIGNING_KEY_EXPECTED);
  try {
    return signingKey(key);
  } catch (err) {
    throw new UserFileError(`${path}: ${(err as Error).message}; expected ${SIGNING_KEY_EXPECTED}`);
  }
}

/** `--key`/`--field-key FILE` of pubkey: the public half of a signing key (or the public key itself). */
export function readVerifyingKey(path: string): KeyObject {
  return readPublicKey(path, 'key', SIGNING_KEY_EXPECTED);
}

/** A detached COSE_Sign1 over `manifestBytes`. */
export function signManifest(manifestBytes: Uint8Array, k: SigningKey): CoseSignature {
  const protectedBytes = encodeProtected(k.alg, k.kid);
  const message = sigStructure(protectedBytes, manifestBytes);
  const signature =
    k.alg === ALG_ES256 ? sign('sha256', message, { key: k.key, dsaEncoding: 'ieee-p1363' }) : sign(null, message, k.key);
  return { alg: k.alg, kid: k.kid, protectedBytes, signature: new Uint8Array(signature) };
}
