// The host's check of a package before it goes anywhere: `ota push` and `ota rollout` run it before
// they connect, with the verifier and reason codes of `ota verify`, so a package the devices would
// refuse is refused here, at once, with the same exit code.
import { checkChunkTable, checkPayload } from '../protocol/ota/chunks.ts';
import { decodeManifest, type Manifest } from '../protocol/ota/manifest.ts';
import { parsePackage, readPackageHeader } from '../protocol/ota/package.ts';
import { verifyPackage } from '../protocol/ota/policy.ts';
import { OtaError } from '../protocol/ota/reasons.ts';
import type { TrustedKey, TrustStore } from '../protocol/ota/trust.ts';
import { nodeHash, nodeVerifier } from '../host/crypto.ts';
import { readTrustStore, readUserFile } from '../host/user-file.ts';

export interface Preflight {
  manifest: Manifest;
  /** Trusted signers, or undefined when no trust store was given (signatures then unchecked here). */
  signers: TrustedKey[] | undefined;
}

/**
 * With a trust store: exactly `ota verify` without a device. Without one: every check that needs
 * no key (framing, envelope shape, manifest, chunk table, every chunk, digest, ESP image), in the
 * same order; the devices still authenticate the envelope.
 */
export function preflight(pkg: Uint8Array, trust?: TrustStore): Preflight {
  if (trust) {
    const v = verifyPackage(pkg, trust, nodeVerifier, undefined, nodeHash);
    return { manifest: v.manifest, signers: v.signers };
  }
  readPackageHeader(pkg);
  const parts = parsePackage(pkg);
  const manifest = decodeManifest(parts.envelope.manifestBytes);
  if (manifest.size === 0) throw new OtaError('size', 'payload size is 0');
  checkChunkTable(parts.table, manifest);
  checkPayload(parts.payload, manifest, parts.table, nodeHash);
  return { manifest, signers: undefined };
}

/**
 * For `ota <verb> PKG [--trust FILE]`: the package's bytes once they pass preflight, or the
 * refusal, with the reason and code `ota verify` would give (the verb reports it). Nothing here
 * touches the network.
 */
export function checkedPackage(path: string, trustPath: string | undefined): { pkg: Uint8Array; trusted: boolean } | { refused: OtaError } {
  const trust = trustPath ? readTrustStore(trustPath) : undefined;
  const pkg = new Uint8Array(readUserFile(path, 'package'));
  try {
    preflight(pkg, trust);
  } catch (e) {
    if (e instanceof OtaError) return { refused: e };
    throw e;
  }
  return { pkg, trusted: trust !== undefined };
}
