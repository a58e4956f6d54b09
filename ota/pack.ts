// Packing: read the ESP-IDF image, fill the manifest's ESP fields from it (refusing a bad image
// with its reason), build the chunk table, sign, frame. The offline path splits the same steps:
// `manifestFor` writes the bytes to sign, `signManifest` runs where the key lives, `assemble` joins.
import { digestPayload, digestWith, espFieldsOf } from '../protocol/ota/chunks.ts';
import type { CoseSignature } from '../protocol/ota/cose.ts';
import { encodeManifest, MANIFEST_VERSION, type Manifest } from '../protocol/ota/manifest.ts';
import { buildPackage, buildPackageHead, encodeEnvelope } from '../protocol/ota/package.ts';
import { signManifest, type SigningKey } from './keys.ts';
import { nodeHash } from '../host/crypto.ts';

export const DEFAULT_CHUNK_SIZE = 4096;

export interface PackOptions {
  seq: number;
  vendor: string;
  class: string;
  /** 0 = no chunk table. */
  chunkSize?: number;
  devices?: string[];
  expires?: number;
  minSeq?: number;
  info?: string;
}

import { idBytes } from '../protocol/ota/ids.ts';

export { idBytes };

export interface Unsigned {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  table: Uint8Array;
}

export function manifestFor(image: Uint8Array, o: PackOptions): Unsigned {
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  // One pass: the parse (throws OtaError('esp-image' | 'size') with the exact detail), digest, chunk table.
  const { info, sha256, table } = digestPayload(image, chunkSize, nodeHash);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    seq: o.seq,
    vendor: idBytes(o.vendor),
    class: idBytes(o.class),
    size: image.length,
    sha256,
    ...espFieldsOf(info),
    ...(chunkSize > 0 ? { chunkSize, chunkTableSha256: digestWith(nodeHash, table) } : {}),
    ...(o.devices ? { devices: o.devices } : {}),
    ...(o.expires !== undefined ? { expires: o.expires } : {}),
    ...(o.minSeq !== undefined ? { minSeq: o.minSeq } : {}),
    ...(o.info !== undefined ? { info: o.info } : {}),
  };
  return { manifest, manifestBytes: encodeManifest(manifest), table };
}

export function assemble(manifestBytes: Uint8Array, signatures: CoseSignature[], table: Uint8Array, image: Uint8Array): Uint8Array {
  return buildPackage(encodeEnvelope(manifestBytes, signatures), table, image);
}

/** The package as two pieces to write one after the other: everything before the image, then the image itself (not copied). */
export function assembleParts(manifestBytes: Uint8Array, signatures: CoseSignature[], table: Uint8Array, image: Uint8Array): [head: Uint8Array, image: Uint8Array] {
  return [buildPackageHead(encodeEnvelope(manifestBytes, signatures), table), image];
}

export function pack(image: Uint8Array, keys: SigningKey[], o: PackOptions): Uint8Array {
  const u = manifestFor(image, o);
  return assemble(u.manifestBytes, keys.map((k) => signManifest(u.manifestBytes, k)), u.table, image);
}

/** pack, as `canopy ota pack` writes it: the same bytes as pack's, in two pieces (assembleParts). */
export function packParts(image: Uint8Array, keys: SigningKey[], o: PackOptions): { unsigned: Unsigned; parts: [head: Uint8Array, image: Uint8Array] } {
  const unsigned = manifestFor(image, o);
  return { unsigned, parts: assembleParts(unsigned.manifestBytes, keys.map((k) => signManifest(unsigned.manifestBytes, k)), unsigned.table, image) };
}
