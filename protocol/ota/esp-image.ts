// ESP-IDF app image parser (esp_image_header_t, segments, checksum, appended SHA-256, esp_app_desc_t,
// Secure Boot V2 signature sector). Incremental because the device checks the image while it writes
// it to flash and never holds it whole; `parseEspImage` is the same parser fed in one piece, so whole
// and streamed parses agree by construction, errors included: every check fires at a fixed offset.
//
// Check order is integrity before meaning: structure as it arrives, then checksum, then the appended
// hash, and only then the app descriptor, so a corrupted image is reported as corrupt rather than as
// whatever its damaged descriptor happens to say. Layout facts: docs in esp-idf esp_app_format.h.

import { APP_DESC_LENGTH, decodeAppDescriptor, type AppDescriptorOutcome, type EspAppDescriptor } from './esp-app-desc';
import {
  parseSignatureSector,
  SIGNATURE_BLOCK_MAGIC,
  SIGNATURE_SECTOR_LENGTH,
  type SecureBootSignatureBlock,
} from './esp-secure-boot';
import { hex, u16, u32 } from './le';
import { OtaError } from './reasons';
import { equalBytes } from './bytes';
import { Sha256, type Hash, type HashFactory } from './sha256';

export type { EspAppDescriptor } from './esp-app-desc';
export type { SecureBootSignatureBlock } from './esp-secure-boot';

export const ESP_CHIP_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'ESP32',
  0x0002: 'ESP32-S2',
  0x0005: 'ESP32-C3',
  0x0009: 'ESP32-S3',
  0x000c: 'ESP32-C2',
  0x000d: 'ESP32-C6',
  0x0010: 'ESP32-H2',
  0x0012: 'ESP32-P4',
  0x0017: 'ESP32-C5',
};

/**
 * "ESP32-C3 (chip id 5)": how every chip mismatch names a chip (flash, ota verify, a device's
 * refusal), so that nobody has to know the ids. `name` is for a chip another table knows (esptool-js).
 */
export function chipLabel(chipId: number, name: string | undefined = ESP_CHIP_NAMES[chipId]): string {
  return `${name ?? 'unknown chip'} (chip id ${chipId})`;
}

const IMAGE_MAGIC = 0xe9;
const HEADER_LENGTH = 24;
const SEGMENT_HEADER_LENGTH = 8;
const MAX_SEGMENTS = 16;
const CHECKSUM_SEED = 0xef;
const SECTOR = SIGNATURE_SECTOR_LENGTH;

export interface EspImageOptions {
  /** An OTA payload must be an app; false lets bootloader images be inspected. Default true. */
  requireAppDescriptor?: boolean;
  /** Check the appended SHA-256 when the header says one is there. Default true. */
  verifyHash?: boolean;
  /** Partition size in bytes: more input than this is reason 'size'. */
  maxSize?: number;
  /** The SHA-256 the appended hash is checked with (default the pure-TypeScript one). */
  hash?: HashFactory;
  /**
   * For a caller that hashes the whole stream anyway (PayloadChecker): called once, when the
   * appended SHA-256 begins at offset `end`, for the digest of bytes 0..end-1. The parser then
   * hashes nothing itself, and the image is read once instead of twice.
   */
  prefixDigest?: (end: number) => Uint8Array;
}

export interface EspImageHeader {
  chipId: number;
  chipName: string;
  segmentCount: number;
  spiMode: number;
  /** Low nibble of byte 3; its meaning in MHz differs per chip. */
  spiSpeed: number;
  /** High nibble of byte 3: 0 = 1 MB ... 7 = 128 MB. */
  spiSize: number;
  flashSizeBytes: number | undefined;
  entryAddress: number;
  wpPin: number;
  /** Legacy u8 minimum revision (byte 14). */
  minChipRevision: number;
  /** major * 100 + minor. */
  minChipRevisionFull: number;
  maxChipRevisionFull: number;
  hashAppended: boolean;
}

export interface EspSegment {
  index: number;
  loadAddress: number;
  length: number;
  /** File offset of the segment's data (its header is the 8 bytes before). */
  dataOffset: number;
}

export interface EspImageInfo {
  header: EspImageHeader;
  segments: EspSegment[];
  checksum: number;
  checksumOffset: number;
  appendedSha256: Uint8Array | undefined;
  /** True when an appended hash was present and checked (verifyHash not disabled). */
  hashVerified: boolean;
  appDescriptor: EspAppDescriptor | undefined;
  /** Bytes up to and including the appended hash (or the checksum byte when none). */
  imageLength: number;
  /** imageLength rounded up to a flash sector: where a signature sector would start. */
  paddedLength: number;
  /** Bytes consumed: imageLength, or paddedLength + 4096 when a signature sector follows. */
  totalLength: number;
  /** Secure Boot V2 signature blocks, empty when the image is unsigned. */
  signatureBlocks: SecureBootSignatureBlock[];
}

type Stage = 'header' | 'segment-header' | 'segment-data' | 'checksum' | 'hash' | 'tail' | 'signed';

export class EspImageStreamParser {
  private readonly requireAppDescriptor: boolean;
  private readonly verifyHash: boolean;
  private readonly maxSize: number;
  private readonly hash: HashFactory | undefined;
  private readonly prefixDigest: ((end: number) => Uint8Array) | undefined;
  private expectedDigest: Uint8Array | undefined;

  private stage: Stage = 'header';
  private offset = 0;
  private failure: OtaError | undefined;
  private finished: EspImageInfo | undefined;

  // Fixed-size structures are gathered here; segment data streams straight through.
  private scratch = new Uint8Array(HEADER_LENGTH);
  private have = 0;
  private need = HEADER_LENGTH;

  private parsedHeader: EspImageHeader | undefined;
  private readonly segments: EspSegment[] = [];
  private segmentLeft = 0;
  private xor = CHECKSUM_SEED;
  private hasher: Hash | undefined;
  private readonly desc = new Uint8Array(APP_DESC_LENGTH);
  private descHave = 0;
  private descriptor: AppDescriptorOutcome | undefined;
  private checksum = 0;
  private checksumOffset = 0;
  private appendedSha256: Uint8Array | undefined;
  private imageLength = 0;
  private paddedLength = 0;
  private tailSeen = 0;
  private signatureBlocks: SecureBootSignatureBlock[] = [];

  constructor(options: EspImageOptions = {}) {
    this.requireAppDescriptor = options.requireAppDescriptor ?? true;
    this.verifyHash = options.verifyHash ?? true;
    this.maxSize = options.maxSize ?? Infinity;
    this.hash = options.hash;
    this.prefixDigest = options.prefixDigest;
  }

  /** The header once its 24 bytes are in, so a device can cross-check a manifest early. */
  get header(): EspImageHeader | undefined {
    return this.parsedHeader;
  }

  /** The app descriptor once segment 0 has delivered it; undefined until then or if malformed. */
  get appDescriptor(): EspAppDescriptor | undefined {
    return this.descriptor && 'ok' in this.descriptor ? this.descriptor.ok : undefined;
  }

  get bytesReceived(): number {
    return this.offset;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.finished) throw new Error('EspImageStreamParser.push after finish');
    try {
      const room = this.maxSize - this.offset;
      if (chunk.length > room) {
        // Parse what fits first, so a structural error before the limit wins, as it would byte by byte.
        this.consume(chunk.subarray(0, room));
        throw new OtaError('size', `image does not fit the ${this.maxSize}-byte partition`);
      }
      this.consume(chunk);
    } catch (e) {
      if (e instanceof OtaError) this.failure = e;
      throw e;
    }
  }

  finish(): EspImageInfo {
    if (this.failure) throw this.failure;
    if (this.finished) return this.finished;
    const where = `at offset ${hex(this.offset)}`;
    const index = this.segments.length - 1;
    switch (this.stage) {
      case 'header':
        throw this.fail(`image truncated inside the header ${where}`);
      case 'segment-header':
        throw this.fail(`image truncated inside segment ${this.segments.length} header ${where}`);
      case 'segment-data':
        throw this.fail(`image truncated inside segment ${index} data ${where}`);
      case 'checksum':
        throw this.fail(`image truncated inside the checksum block ${where}`);
      case 'hash':
        throw this.fail(`image truncated inside the appended SHA-256 ${where}`);
      case 'tail':
        if (this.tailSeen > 0) {
          // The sector buffer starts zeroed, so its first byte is the magic only once the sector began.
          if (this.scratch[0] === SIGNATURE_BLOCK_MAGIC) {
            throw this.fail(`image truncated inside the signature sector ${where}`);
          }
          throw this.fail(`unexpected bytes after the image end at offset ${hex(this.imageLength)}`);
        }
        break;
      case 'signed':
        break;
    }
    const header = this.parsedHeader as EspImageHeader;
    const signed = this.signatureBlocks.length > 0;
    this.finished = {
      header,
      segments: this.segments.slice(),
      checksum: this.checksum,
      checksumOffset: this.checksumOffset,
      appendedSha256: this.appendedSha256,
      hashVerified: header.hashAppended && this.verifyHash,
      appDescriptor: this.appDescriptor,
      imageLength: this.imageLength,
      paddedLength: this.paddedLength,
      totalLength: signed ? this.paddedLength + SECTOR : this.imageLength,
      signatureBlocks: this.signatureBlocks.slice(),
    };
    return this.finished;
  }

  private consume(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.stage === 'segment-data') {
        i = this.segmentData(chunk, i);
        continue;
      }
      if (this.stage === 'tail') {
        i = this.tail(chunk, i);
        continue;
      }
      if (this.stage === 'signed') {
        throw this.fail(`unexpected bytes after the signature sector at offset ${hex(this.offset)}`);
      }
      const take = Math.min(this.need - this.have, chunk.length - i);
      this.scratch.set(chunk.subarray(i, i + take), this.have);
      this.have += take;
      this.offset += take;
      i += take;
      if (this.have === this.need) this.structureComplete();
    }
  }

  private expect(stage: Stage, length: number): void {
    this.stage = stage;
    this.need = length;
    this.have = 0;
  }

  private structureComplete(): void {
    const s = this.scratch.subarray(0, this.need);
    switch (this.stage) {
      case 'header':
        this.parsedHeader = this.parseHeader(s);
        if (this.parsedHeader.hashAppended && this.verifyHash && !this.prefixDigest) {
          this.hasher = this.hash ? this.hash() : new Sha256();
          this.hasher.update(s);
        }
        this.scratch = new Uint8Array(32);
        this.expect('segment-header', SEGMENT_HEADER_LENGTH);
        return;
      case 'segment-header':
        this.hasher?.update(s);
        this.segmentHeader(s);
        return;
      case 'checksum': {
        this.hasher?.update(s);
        this.checksum = s[s.length - 1];
        this.checksumOffset = this.offset - 1;
        if (this.checksum !== this.xor) {
          throw this.fail(`checksum mismatch: stored ${hex(this.checksum, 2)}, computed ${hex(this.xor, 2)}`);
        }
        if (this.parsedHeader?.hashAppended) {
          if (this.verifyHash) this.expectedDigest = this.prefixDigest ? this.prefixDigest(this.offset) : (this.hasher as Hash).digest();
          this.expect('hash', 32);
        } else this.imageEnd();
        return;
      }
      case 'hash': {
        this.appendedSha256 = s.slice();
        if (this.expectedDigest && !equalBytes(this.expectedDigest, this.appendedSha256)) {
          throw this.fail('appended SHA-256 mismatch');
        }
        this.imageEnd();
        return;
      }
      default:
        throw new Error(`EspImageStreamParser: no structure expected in stage ${this.stage}`);
    }
  }

  private parseHeader(h: Uint8Array): EspImageHeader {
    if (h[0] !== IMAGE_MAGIC) throw this.fail(`bad magic ${hex(h[0], 2)}, expected 0xE9`);
    const segmentCount = h[1];
    if (segmentCount < 1 || segmentCount > MAX_SEGMENTS) {
      throw this.fail(`segment count ${segmentCount} is outside 1..${MAX_SEGMENTS}`);
    }
    const chipId = u16(h, 12);
    const chipName = ESP_CHIP_NAMES[chipId];
    if (chipName === undefined) throw this.fail(`unknown chip id ${hex(chipId, 4)}`);
    if (h[23] > 1) throw this.fail(`hash_appended byte ${hex(h[23], 2)} is neither 0 nor 1`);
    const spiSize = h[3] >> 4;
    return {
      chipId,
      chipName,
      segmentCount,
      spiMode: h[2],
      spiSpeed: h[3] & 0x0f,
      spiSize,
      flashSizeBytes: spiSize <= 7 ? 0x100000 * 2 ** spiSize : undefined,
      entryAddress: u32(h, 4),
      wpPin: h[8],
      minChipRevision: h[14],
      minChipRevisionFull: u16(h, 15),
      maxChipRevisionFull: u16(h, 17),
      hashAppended: h[23] === 1,
    };
  }

  private segmentHeader(s: Uint8Array): void {
    const index = this.segments.length;
    const length = u32(s, 4);
    if (length % 4 !== 0) throw this.fail(`segment ${index} length ${hex(length)} is not a multiple of 4`);
    this.segments.push({ index, loadAddress: u32(s, 0), length, dataOffset: this.offset });
    this.segmentLeft = length;
    this.stage = 'segment-data';
    if (length === 0) this.segmentEnd();
  }

  private segmentData(chunk: Uint8Array, i: number): number {
    const take = Math.min(this.segmentLeft, chunk.length - i);
    const piece = chunk.subarray(i, i + take);
    this.xor = xorBytes(piece, this.xor);
    this.hasher?.update(piece);
    if (this.segments.length === 1 && this.descHave < APP_DESC_LENGTH) {
      const copy = piece.subarray(0, APP_DESC_LENGTH - this.descHave);
      this.desc.set(copy, this.descHave);
      this.descHave += copy.length;
      if (this.descHave === APP_DESC_LENGTH) this.settleDescriptor();
    }
    this.segmentLeft -= take;
    this.offset += take;
    if (this.segmentLeft === 0) this.segmentEnd();
    return i + take;
  }

  private segmentEnd(): void {
    if (this.segments.length === 1 && this.descriptor === undefined) this.settleDescriptor();
    if (this.segments.length < (this.parsedHeader as EspImageHeader).segmentCount) {
      this.expect('segment-header', SEGMENT_HEADER_LENGTH);
    } else {
      // Zero padding then the checksum as the last byte of a 16-byte-aligned block.
      this.expect('checksum', 16 - (this.offset % 16));
    }
  }

  // Decided as soon as the bytes are in (so the getter serves early manifest cross-checks), but an
  // error is only raised at the image end, after the checksum and hash have had their say.
  private settleDescriptor(): void {
    this.descriptor = decodeAppDescriptor(this.desc, this.descHave, this.requireAppDescriptor);
  }

  private imageEnd(): void {
    this.imageLength = this.offset;
    this.paddedLength = Math.ceil(this.imageLength / SECTOR) * SECTOR;
    const outcome = this.descriptor as AppDescriptorOutcome;
    if ('error' in outcome) throw this.fail(outcome.error);
    this.stage = 'tail';
    this.tailSeen = 0;
    this.scratch = new Uint8Array(SECTOR);
  }

  // After the image: nothing, or padding to a sector boundary then a 4096-byte signature sector.
  // Anything else is rejected: an OTA payload carries no stray bytes for the bootloader to ignore.
  private tail(chunk: Uint8Array, i: number): number {
    const pad = this.paddedLength - this.imageLength;
    const take = Math.min(pad + SECTOR - this.tailSeen, chunk.length - i);
    for (let k = 0; k < take; k++) {
      const at = this.tailSeen + k - pad;
      if (at >= 0) this.scratch[at] = chunk[i + k];
    }
    this.tailSeen += take;
    this.offset += take;
    if (this.tailSeen === pad + SECTOR) this.signatureSector(this.scratch);
    return i + take;
  }

  private signatureSector(s: Uint8Array): void {
    const blocks = parseSignatureSector(s, this.paddedLength);
    if (blocks.length === 0) {
      throw this.fail(`unexpected bytes after the image end at offset ${hex(this.imageLength)}`);
    }
    this.signatureBlocks = blocks;
    this.stage = 'signed';
  }

  private fail(detail: string): OtaError {
    return new OtaError('esp-image', detail);
  }
}

/** `seed` XOR every byte of `b`: 32 bits at a time where aligned, as this runs over every image byte. */
function xorBytes(b: Uint8Array, seed: number): number {
  let x = seed;
  let i = 0;
  const n = b.length;
  const head = Math.min(n, (4 - (b.byteOffset & 3)) & 3);
  for (; i < head; i++) x ^= b[i];
  const words = (n - i) >> 2;
  if (words > 0) {
    const w = new Int32Array(b.buffer, b.byteOffset + i, words);
    let y = 0;
    let k = 0;
    for (; k + 4 <= words; k += 4) y ^= w[k] ^ w[k + 1] ^ w[k + 2] ^ w[k + 3];
    for (; k < words; k++) y ^= w[k];
    x ^= (y ^ (y >>> 8) ^ (y >>> 16) ^ (y >>> 24)) & 0xff;
    i += words * 4;
  }
  for (; i < n; i++) x ^= b[i];
  return x;
}

/** Parses a whole image held in memory; identical to streaming it through EspImageStreamParser. */
export function parseEspImage(bytes: Uint8Array, options?: EspImageOptions): EspImageInfo {
  const parser = new EspImageStreamParser(options);
  parser.push(bytes);
  return parser.finish();
}
