// Policy: may this authenticated manifest be installed on this device, now? Checked before a byte
// is erased. `verifyPackage` is the whole pipeline in device order (frame, envelope, signatures,
// manifest, policy, chunk table, payload), shared by the CLI `verify` and the tests; the device's
// installer runs the same steps split across the offer and the blocks.

import { checkChunkTable, checkPayload, type HashFactory } from './chunks';
import { chipLabel, type EspImageInfo } from './esp-image';
import { decodeManifest, type Manifest } from './manifest';
import { parsePackage, readPackageHeader, toHex } from './package';
import { OtaError } from './reasons';
import { equalBytes } from './bytes';
import type { TrustedKey, TrustStore } from './trust';
import { authenticate, type SignatureVerifier } from './verifier';

export interface DeviceContext {
  vendor: Uint8Array;
  class: Uint8Array;
  deviceId?: string;
  /** Sequence of the confirmed running image; 0 before the first OTA. */
  installedSeq: number;
  /** Seconds since the epoch; undefined when the device has no trusted clock (expiry unchecked). */
  now?: number;
  /** Bytes in the update partition. */
  partitionSize: number;
  chipId?: number;
  /** major*100+minor of this chip. */
  chipRevision?: number;
  /** The eFuse secure_version floor; images below it would not boot. */
  secureVersion?: number;
}

export function checkPolicy(m: Manifest, signers: TrustedKey[], d: DeviceContext): void {
  if (!equalBytes(m.vendor, d.vendor)) throw new OtaError('class', `vendor ${toHex(m.vendor)} is not this device's ${toHex(d.vendor)}`);
  if (!equalBytes(m.class, d.class)) throw new OtaError('class', `device class ${toHex(m.class)} is not this device's ${toHex(d.class)}`);
  if (signers.some((k) => k.role === 'field') && (m.devices === undefined || m.expires === undefined)) {
    throw new OtaError('target', 'a field key may only sign packages with a device list and an expiry');
  }
  if (m.devices !== undefined && (d.deviceId === undefined || !m.devices.includes(d.deviceId))) {
    throw new OtaError('target', `device ${d.deviceId ?? '(unnamed)'} is not in the package's list of ${m.devices.length}`);
  }
  if (m.seq <= d.installedSeq) throw new OtaError('rollback', `sequence ${m.seq} is not newer than the installed ${d.installedSeq}`);
  if (m.minSeq !== undefined && d.installedSeq < m.minSeq) {
    throw new OtaError('prerequisite', `installed sequence ${d.installedSeq} is below the required ${m.minSeq}`);
  }
  if (m.expires !== undefined && d.now !== undefined && d.now >= m.expires) {
    throw new OtaError('expired', `package expired at ${m.expires}, now ${d.now}`);
  }
  if (m.size === 0 || m.size > d.partitionSize) throw new OtaError('size', `payload of ${m.size} bytes does not fit the ${d.partitionSize}-byte partition`);
  if (d.chipId !== undefined && m.chipId !== d.chipId) throw new OtaError('esp-mismatch', `the image is built for ${chipLabel(m.chipId)}, but this device is an ${chipLabel(d.chipId)}`);
  if (d.chipRevision !== undefined && (d.chipRevision < m.minChipRev || d.chipRevision > m.maxChipRev)) {
    throw new OtaError('esp-mismatch', `chip revision ${d.chipRevision} is outside the image's ${m.minChipRev}..${m.maxChipRev}`);
  }
  if (d.secureVersion !== undefined && m.secureVersion < d.secureVersion) {
    throw new OtaError('rollback', `secure_version ${m.secureVersion} is below the eFuse floor ${d.secureVersion}`);
  }
}

export interface VerifiedPackage {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  signers: TrustedKey[];
  image: EspImageInfo;
}

/** Checks a whole package in memory. Without a device context only the package's own consistency is checked. */
export function verifyPackage(
  pkg: Uint8Array,
  trust: TrustStore,
  verifier: SignatureVerifier,
  device?: DeviceContext,
  hash?: HashFactory,
): VerifiedPackage {
  readPackageHeader(pkg);
  const parts = parsePackage(pkg);
  const { envelope, signers } = authenticate(parts.envelopeBytes, trust, verifier);
  const manifest = decodeManifest(envelope.manifestBytes);
  if (device) checkPolicy(manifest, signers, device);
  else if (signers.some((k) => k.role === 'field') && (manifest.devices === undefined || manifest.expires === undefined)) {
    throw new OtaError('target', 'a field key may only sign packages with a device list and an expiry');
  }
  if (manifest.size === 0) throw new OtaError('size', 'payload size is 0');
  checkChunkTable(parts.table, manifest, hash);
  const image = checkPayload(parts.payload, manifest, parts.table, hash);
  return { manifest, manifestBytes: envelope.manifestBytes, signers, image };
}
