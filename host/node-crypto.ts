// node:crypto behind the protocol's crypto interfaces: the host's ES256/EdDSA verifier and SHA-256
// hash (used by the OTA CLI and tests), and what the simulator's XS devices reach through the
// bridge's "crypto" channel (host/xs/crypto-service.ts) in place of the firmware's native modules.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { ALG_ES256 } from '../protocol/ota/cose.ts';
import type { HashFactory } from '../protocol/ota/sha256.ts';
import type { SignatureVerifier } from '../protocol/ota/verifier.ts';

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
export const nodeHash: HashFactory = () => {
  const h = createHash('sha256');
  return {
    update(b: Uint8Array) {
      h.update(b);
    },
    digest: () => new Uint8Array(h.digest()),
  };
};
