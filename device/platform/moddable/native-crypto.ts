// `canopy/crypto` on the Moddable SDK (esp32 and lin): SHA-256 by the native `crypt` Digest and
// ECDSA P-256 by the SDK's `ecdsa` over native big-number point arithmetic (`curve`, `ecp`).
// The pure-TypeScript SHA-256 would take minutes over a 1.5 MB image on an ESP32; these take
// well under a second. The simulator's XS engine has a module of the same name over host crypto
// (device/platform/xsnap-crypto.ts); the pure code (protocol/ota/sha256, p256) stays the
// reference the tests compare with.
//
// The SDK's ECDSA.verify checks neither that the key is on the curve nor that r and s lie in
// 1..n-1 (r = s = 0 must not pass), so both are checked here first, with the pure code's
// checks. The curve object holds 256-bit BigInts: it is made on first use, never at preload.
import { Digest } from 'crypt';
import Curve from 'curve';
import ECDSA from 'ecdsa';
import ECPoint from 'ecp';
import { ALG_ES256 } from 'protocol/ota/cose';
import { decodeP256Point, p256SignatureScalars } from 'protocol/ota/p256';
import type { HashFactory } from 'protocol/ota/sha256';
import type { SignatureVerifier } from 'protocol/ota/verifier';

/** Native SHA-256 in the protocol's HashFactory shape; write() reads any view in place. */
export const sha256Hash: HashFactory = () => {
  const d = new Digest('SHA256');
  return {
    update(bytes: Uint8Array) {
      d.write(bytes as unknown as ArrayBuffer);
    },
    digest: () => new Uint8Array(d.close()),
  };
};

let p256: Curve | undefined;

/** ES256 only: the SDK has no Ed25519, so an EdDSA signature counts as one by an unknown key. */
export const signatureVerifier: SignatureVerifier = Object.freeze({
  supports: (alg) => alg === ALG_ES256,
  verify(alg, publicKey, message, signature) {
    if (alg !== ALG_ES256) return false;
    const q = decodeP256Point(publicKey);
    if (!q || !p256SignatureScalars(signature)) return false;
    const d = new Digest('SHA256');
    d.write(message as unknown as ArrayBuffer);
    p256 ??= new Curve('secp256r1');
    return new ECDSA(new ECPoint(q[0], q[1]), p256).verify(d.close(), signature.slice().buffer as ArrayBuffer);
  },
});
