// `canopy/crypto` on the simulator's XS engine: the same exports as the firmware's native module
// (device/platform/moddable/native-crypto.ts), backed by the host's node:crypto over the bridge
// channel "crypto" (host/xs/crypto-service.ts), so the whole-image check of an OTA takes
// milliseconds here as it does natively on the board, not seconds of pure-TS SHA-256.
//   [2][id: u32][bytes] update digest `id` (opened on first use)   reply: empty
//   [3][id: u32]        finish digest `id`                          reply: 32-byte SHA-256
//   [4][key length: u8][key][signature length: u8][signature][message]  ES256 verify  reply: [1 | 0]
// Digest ids are the guest's; the host forgets a digest once finished (and the oldest ones past
// a bound, so a check abandoned midway cannot grow the host's table).
//
// Its module name is canopy/crypto, not its path: every import is a full module name.
import { ALG_ES256 } from 'protocol/ota/cose';
import type { HashFactory } from 'protocol/ota/sha256';
import type { SignatureVerifier } from 'protocol/ota/verifier';
import { callHost } from 'device/platform/xs-bridge';
import { CryptoOp } from 'device/platform/xsnap-crypto-ops';

const CHANNEL = 'crypto';
let nextId = 1;

function withId(op: number, id: number, tail?: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + (tail ? tail.length : 0));
  out[0] = op;
  new DataView(out.buffer).setUint32(1, id, true);
  if (tail) out.set(tail, 5);
  return out;
}

export const sha256Hash: HashFactory = () => {
  const id = nextId;
  nextId = (nextId + 1) >>> 0 || 1;
  return {
    update(bytes: Uint8Array) {
      callHost(CHANNEL, withId(CryptoOp.update, id, bytes));
    },
    digest: () => callHost(CHANNEL, withId(CryptoOp.finish, id)).slice(),
  };
};

/** ES256 only, as on the board (the SDK has no Ed25519). */
export const signatureVerifier: SignatureVerifier = Object.freeze({
  supports: (alg) => alg === ALG_ES256,
  verify(alg, publicKey, message, signature) {
    if (alg !== ALG_ES256 || publicKey.length > 255 || signature.length > 255) return false;
    const out = new Uint8Array(3 + publicKey.length + signature.length + message.length);
    out[0] = CryptoOp.verify;
    out[1] = publicKey.length;
    out.set(publicKey, 2);
    out[2 + publicKey.length] = signature.length;
    out.set(signature, 3 + publicKey.length);
    out.set(message, 3 + publicKey.length + signature.length);
    return callHost(CHANNEL, out)[0] === 1;
  },
});
