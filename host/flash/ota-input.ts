// The one step between a signed Canopy OTA package and the bytes `canopy flash` writes: the
// package is verified exactly as `canopy ota verify` does (signatures against a trust store,
// chunk table, payload digest, ESP image) and only then is its payload handed back. Device
// policy (sequence, expiry, targeting) belongs to over-the-air installs; a technician at the
// serial port decides those.
import { parsePackage } from '../../protocol/ota/package.ts';
import { verifyPackage } from '../../protocol/ota/policy.ts';
import { OtaError, describeReason } from '../../protocol/ota/reasons.ts';
import type { TrustStore } from '../../protocol/ota/trust.ts';
import { readTrustStore } from '../user-file.ts';
import { nodeHash, nodeVerifier } from '../crypto.ts';
import { FlashError } from './errors.ts';

export interface VerifiedPayload {
  /** The app image the package carries, already checked against the package's signatures and digest. */
  image: Uint8Array;
  /** What to show in the summary, e.g. "canopy-sensor 1.4.2 (sequence 17)". */
  description: string;
}

export type OtaPayloadStep = (pkg: Uint8Array, source: string) => Promise<VerifiedPayload>;

function loadTrust(path: string | undefined): TrustStore {
  if (!path) throw new FlashError('ota-invalid', '--ota needs --trust TRUST.json (from `canopy ota pubkey`): a package is flashed only once its signatures check out');
  try {
    return readTrustStore(path);
  } catch (err) {
    throw new FlashError('ota-invalid', (err as Error).message);
  }
}

/** Verifies against the trust store at `trustPath`; nothing is written unless this passes. */
export function verifyOtaPackage(trustPath: string | undefined): OtaPayloadStep {
  return async (pkg, source) => {
    const trust = loadTrust(trustPath);
    try {
      const v = verifyPackage(pkg, trust, nodeVerifier, undefined, nodeHash);
      return { image: parsePackage(pkg).payload, description: `${v.manifest.project} ${v.manifest.appVersion} (sequence ${v.manifest.seq})` };
    } catch (err) {
      if (!(err instanceof OtaError)) throw err;
      throw new FlashError('ota-invalid', `${source} is not a valid package (${err.reason}: ${err.detail}); ${describeReason(err.reason)}. Nothing was written.`);
    }
  };
}
