// Host half of the simulated device's `canopy/crypto` (device/platform/xsnap-crypto.ts documents
// the "crypto" channel): SHA-256 and ES256 verify by node:crypto, standing in for the firmware's
// native `crypt` Digest and `ecdsa`.
import { createHash, type Hash } from 'node:crypto';
import { ALG_ES256 } from '../../protocol/ota/cose.ts';
import { CryptoOp } from '../../device/platform/xsnap-crypto-ops.ts';
import { nodeVerifier } from '../crypto.ts';

/** Digests open at once; a PayloadChecker holds three. Past this the oldest are dropped. */
const MAX_OPEN = 32;

export class CryptoService {
  private readonly open = new Map<number, Hash>();

  serve(p: Uint8Array): Uint8Array | void {
    switch (p[0]) {
      case CryptoOp.update:
        this.digest(p).update(p.subarray(5));
        return;
      case CryptoOp.finish: {
        const out = new Uint8Array(this.digest(p).digest());
        this.open.delete(idOf(p));
        return out;
      }
      case CryptoOp.verify: {
        const keyLength = p[1];
        const key = p.subarray(2, 2 + keyLength);
        const sigLength = p[2 + keyLength];
        const sig = p.subarray(3 + keyLength, 3 + keyLength + sigLength);
        const message = p.subarray(3 + keyLength + sigLength);
        return Uint8Array.of(nodeVerifier.verify(ALG_ES256, key, message, sig) ? 1 : 0);
      }
      default:
        throw new Error(`unknown crypto op ${p[0]}`);
    }
  }

  /** Digests the guest has opened and not finished. */
  get openDigests(): number {
    return this.open.size;
  }

  private digest(p: Uint8Array): Hash {
    const id = idOf(p);
    let h = this.open.get(id);
    if (!h) {
      if (this.open.size >= MAX_OPEN) this.open.delete(this.open.keys().next().value as number);
      h = createHash('sha256');
      this.open.set(id, h);
    }
    return h;
  }
}

function idOf(p: Uint8Array): number {
  if (p.length < 5) throw new Error(`crypto request of ${p.length} bytes has no digest id`);
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(1, true);
}
