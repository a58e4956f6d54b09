// Secure Boot V2 signature sector: 4096 bytes at the first sector boundary after the image, holding
// up to three 1216-byte blocks. Canopy does not verify these signatures (its own COSE envelope does
// that job); it reports them and checks their CRC so a damaged sector is not flashed as if intact.

import { crc32 } from '../crc32';
import { hex, u32 } from './le';
import { OtaError } from './reasons';

export const SIGNATURE_SECTOR_LENGTH = 4096;
export const SIGNATURE_BLOCK_MAGIC = 0xe7;
const BLOCK_LENGTH = 1216;
const CRC_OFFSET = 1196;
const MAX_BLOCKS = 3;

export interface SecureBootSignatureBlock {
  index: number;
  /** File offset of the block. */
  offset: number;
  version: 2 | 3;
  scheme: 'rsa-pss-3072' | 'ecdsa';
  /** SHA-256 of the padded image as recorded in the block; not recomputed here. */
  imageDigest: Uint8Array;
}

/** Blocks of the sector at file offset `sectorOffset`; empty when block 0 has no magic. */
export function parseSignatureSector(s: Uint8Array, sectorOffset: number): SecureBootSignatureBlock[] {
  const blocks: SecureBootSignatureBlock[] = [];
  for (let index = 0; index < MAX_BLOCKS; index++) {
    const at = index * BLOCK_LENGTH;
    if (s[at] !== SIGNATURE_BLOCK_MAGIC) break; // unused blocks are erased flash
    const version = s[at + 1];
    if (version !== 2 && version !== 3) {
      throw new OtaError('esp-image', `signature block ${index} has unknown version ${hex(version, 2)}`);
    }
    const stored = u32(s, at + CRC_OFFSET);
    const computed = crc32(s.subarray(at, at + CRC_OFFSET));
    if (stored !== computed) {
      throw new OtaError(
        'esp-image',
        `signature block ${index} CRC32 mismatch: stored ${hex(stored, 8)}, computed ${hex(computed, 8)}`,
      );
    }
    blocks.push({
      index,
      offset: sectorOffset + at,
      version,
      scheme: version === 2 ? 'rsa-pss-3072' : 'ecdsa',
      imageDigest: s.slice(at + 4, at + 36),
    });
  }
  return blocks;
}
