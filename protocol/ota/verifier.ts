// Envelope authentication: which trusted keys signed these manifest bytes, and are there enough of
// them. It runs before the manifest is decoded, so unauthenticated bytes never reach the manifest
// parser. The cryptography is injected: node:crypto on the host, Moddable's `ecdsa` on the device,
// the BigInt P-256 in p256.ts on the simulator's XS engine (which has no crypto).

import { ALG_ES256, encodeProtected, sigStructure, type CoseAlg, type CoseSignature } from './cose';
import { decodeEnvelope, toHex, type Envelope } from './package';
import { p256Verify } from './p256';
import { OtaError } from './reasons';
import { equalBytes } from './bytes';
import { sha256 } from './sha256';
import type { TrustedKey, TrustStore } from './trust';

export interface SignatureVerifier {
  /** `message` is the Sig_structure; ES256 hashes it with SHA-256 first. Signatures are raw r‖s. */
  verify(alg: CoseAlg, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Whether this verifier can check `alg` at all; a signature it cannot check counts for nothing,
   * like one by an unknown key (a device without Ed25519 still accepts ES256 + EdDSA packages).
   * Absent = every alg.
   */
  supports?(alg: CoseAlg): boolean;
}

/** Pure ES2022 verifier: ES256 only, as on a device without native Ed25519. */
export const pureVerifier: SignatureVerifier = {
  supports: (alg) => alg === ALG_ES256,
  verify(alg, publicKey, message, signature) {
    if (alg !== ALG_ES256) return false;
    return p256Verify(publicKey, sha256(message), signature);
  },
};

export interface Authenticated {
  envelope: Envelope;
  /** Trusted keys whose signatures verified, in envelope order. */
  signers: TrustedKey[];
}

/** Bytes a key signs for `manifestBytes`. */
export function signingInput(alg: CoseAlg, kid: Uint8Array, manifestBytes: Uint8Array): Uint8Array {
  return sigStructure(encodeProtected(alg, kid), manifestBytes);
}

export function authenticate(envelopeBytes: Uint8Array, trust: TrustStore, verifier: SignatureVerifier): Authenticated {
  const envelope = decodeEnvelope(envelopeBytes);
  const signers: TrustedKey[] = [];
  let unknown = 0;
  envelope.signatures.forEach((sig: CoseSignature, i) => {
    const key = trust.keys.find((k) => equalBytes(k.kid, sig.kid));
    if (!key) {
      // A signature by a key we do not know is neither proof nor an attack: it may be for other fleets.
      unknown++;
      return;
    }
    if (key.alg !== sig.alg) throw new OtaError('signature', `signature ${i}: kid ${toHex(sig.kid)} is pinned to another algorithm`);
    if (verifier.supports && !verifier.supports(sig.alg)) {
      unknown++;
      return;
    }
    const message = sigStructure(sig.protectedBytes, envelope.manifestBytes);
    if (!verifier.verify(sig.alg, key.publicKey, message, sig.signature)) {
      throw new OtaError('signature', `signature ${i} by kid ${toHex(sig.kid)} does not verify`);
    }
    signers.push(key);
  });
  if (signers.length < trust.threshold) {
    throw new OtaError(
      'signature',
      `${signers.length} trusted signature(s), ${trust.threshold} required` + (unknown ? ` (${unknown} by unknown keys or algorithms this verifier lacks)` : ''),
    );
  }
  return { envelope, signers };
}
