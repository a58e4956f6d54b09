// `canopy/ota`: signed OTA packages for a host program, the same code `canopy ota pack|verify` runs.
// Packing signs with node:crypto keys; verifying is the device's own pipeline (protocol/ota/policy.ts)
// with node:crypto behind its hash and signature interfaces.
import { nodeHash, nodeVerifier } from '../host/crypto.ts';
import { verifyPackage, type DeviceContext, type VerifiedPackage } from '../protocol/ota/policy.ts';
import type { TrustStore } from '../protocol/ota/trust.ts';

export { pack, manifestFor, assemble, DEFAULT_CHUNK_SIZE, type PackOptions, type Unsigned } from './pack.ts';
export { generateKeyPem, signingKey, signManifest, spkiOf, type SigningKey, type KeyAlgName } from './keys.ts';
export { parseTrustStore, trustedKey, trustStoreJson, type TrustStore, type TrustedKey, type TrustStoreJson, type KeyRole } from '../protocol/ota/trust.ts';
export { OtaError, describeReason, reasonCode, type OtaReason, type OtaStatus } from '../protocol/ota/reasons.ts';
export type { DeviceContext, VerifiedPackage } from '../protocol/ota/policy.ts';
export type { Manifest } from '../protocol/ota/manifest.ts';

/**
 * Checks a whole package as the device would before erasing a byte: frame, signatures against
 * `trust`, manifest, chunk table, payload, and with `device` the install policy. Throws OtaError.
 */
export function verify(pkg: Uint8Array, trust: TrustStore, device?: DeviceContext): VerifiedPackage {
  return verifyPackage(pkg, trust, nodeVerifier, device, nodeHash);
}
