// Chunk-digest table and whole-payload checking. The table (SHA-256 of each chunkSize slice of the
// payload, in order) lets a device reject a bad block the moment it arrives and resume by chunk;
// the manifest signs the table's digest, so the table itself needs no signature.
//
// PayloadChecker reports integrity before meaning: a chunk or digest mismatch wins over whatever
// the ESP image parser made of the damaged bytes, so tampering reads as tampering.

import { chipLabel, EspImageStreamParser, type EspImageInfo } from './esp-image';
import type { Manifest } from './manifest';
import { equalBytes } from './bytes';
import { OtaError } from './reasons';
import { Sha256, type Hash, type HashFactory } from './sha256';

/** A SHA-256 implementation: the device injects its native digest, the host node:crypto. */
export type { Hash, HashFactory } from './sha256';
export const pureHash: HashFactory = () => new Sha256();

/** SHA-256 of one whole buffer with `hash`. */
export function digestWith(hash: HashFactory, bytes: Uint8Array): Uint8Array {
  if (hash.once) return hash.once(bytes);
  const h = hash();
  h.update(bytes);
  return h.digest();
}

/** SHA-256 of `bytes` into out[at, at + 32). */
function digestInto(hash: HashFactory, bytes: Uint8Array, out: Uint8Array, at: number): void {
  if (hash.into) hash.into(bytes, out, at);
  else out.set(digestWith(hash, bytes), at);
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

export function buildChunkTable(payload: Uint8Array, chunkSize: number, hash: HashFactory = pureHash): Uint8Array {
  const n = chunkCount(payload.length, chunkSize);
  const table = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) digestInto(hash, payload.subarray(i * chunkSize, (i + 1) * chunkSize), table, i * 32);
  return table;
}

/** Checks the table against the signed manifest; throws 'chunk'. */
export function checkChunkTable(table: Uint8Array, m: Manifest, hash: HashFactory = pureHash): void {
  if (m.chunkSize === undefined || m.chunkTableSha256 === undefined) {
    if (table.length !== 0) throw new OtaError('chunk', 'package has a chunk table but the manifest declares none');
    return;
  }
  const want = chunkCount(m.size, m.chunkSize) * 32;
  if (table.length !== want) throw new OtaError('chunk', `chunk table is ${table.length} bytes, the manifest implies ${want}`);
  if (!equalBytes(digestWith(hash, table), m.chunkTableSha256)) throw new OtaError('chunk', 'chunk table digest does not match the manifest');
}

/** Verifies chunk `index` of a payload against the table; throws 'chunk'. */
export function checkChunk(table: Uint8Array, index: number, bytes: Uint8Array, hash: HashFactory = pureHash): void {
  const d = digestWith(hash, bytes);
  for (let i = 0; i < 32; i++) {
    if (d[i] !== table[index * 32 + i]) throw new OtaError('chunk', `chunk ${index} does not match its digest`);
  }
}

/** The ESP fields a manifest carries, as read from an image. */
export function espFieldsOf(info: EspImageInfo): Pick<Manifest, 'chipId' | 'minChipRev' | 'maxChipRev' | 'secureVersion' | 'project' | 'appVersion'> {
  const d = info.appDescriptor;
  if (!d) throw new OtaError('esp-image', 'image has no app descriptor');
  return {
    chipId: info.header.chipId,
    minChipRev: info.header.minChipRevisionFull,
    maxChipRev: info.header.maxChipRevisionFull,
    secureVersion: d.secureVersion,
    project: d.projectName,
    appVersion: d.version,
  };
}

/** Throws 'esp-mismatch' naming the first field where image and manifest disagree. */
export function crossCheckEsp(info: EspImageInfo, m: Manifest): void {
  const got = espFieldsOf(info);
  if (got.chipId !== m.chipId) throw new OtaError('esp-mismatch', `chipId: the image is built for ${chipLabel(got.chipId)}, the manifest says ${chipLabel(m.chipId)}`);
  for (const k of Object.keys(got) as (keyof typeof got)[]) {
    if (got[k] !== m[k]) throw new OtaError('esp-mismatch', `${k}: image says ${String(got[k])}, manifest says ${String(m[k])}`);
  }
  if (info.totalLength !== m.size) throw new OtaError('esp-mismatch', `image is ${info.totalLength} bytes, manifest says ${m.size}`);
}

/**
 * One pass over a payload: its SHA-256, the SHA-256 of each chunk, and the ESP image parse, every
 * byte read once. When the hash can be copied (node:crypto), the image's appended SHA-256 is
 * checked against a copy of the whole-payload hash taken where that hash begins, instead of
 * hashing the image a second time. PayloadChecker compares what this computes; digestPayload
 * (packing) collects it.
 */
class PayloadPass {
  readonly esp: EspImageStreamParser;
  espError: OtaError | undefined;
  private readonly whole: Hash;
  private wholeFed = 0; // bytes given to `whole` so far
  private current: Uint8Array = new Uint8Array(0); // the bytes being pushed, from offset currentStart
  private currentStart = 0;
  private chunk: Hash | undefined;
  private chunkIndex = 0;
  private chunkHave = 0;
  received = 0;

  /**
   * Chunk `index`'s digest is written into `digests` at `slot(index)` (the table itself when
   * packing, a 32-byte scratch when checking), then `onChunk` is told where.
   */
  constructor(
    private readonly size: number,
    private readonly chunkSize: number | undefined,
    private readonly hash: HashFactory,
    private readonly digests: Uint8Array,
    private readonly slot: (index: number) => number,
    private readonly onChunk: (index: number, at: number) => void,
  ) {
    this.whole = hash();
    const shared = typeof this.whole.copy === 'function';
    this.esp = new EspImageStreamParser(shared ? { prefixDigest: (end) => this.prefixDigest(end) } : { hash });
  }

  // The parser asks while it consumes `current`; the whole hash has seen everything before it.
  private prefixDigest(end: number): Uint8Array {
    this.whole.update(this.current.subarray(this.wholeFed - this.currentStart, end - this.currentStart));
    this.wholeFed = end;
    return (this.whole.copy as () => Hash)().digest();
  }

  push(bytes: Uint8Array): void {
    const room = this.size - this.received;
    if (bytes.length > room) throw new OtaError('trailing', `payload is longer than the ${this.size} bytes the manifest declares`);
    const start = this.received;
    this.received += bytes.length;
    if (!this.espError) {
      this.current = bytes;
      this.currentStart = start;
      try {
        this.esp.push(bytes);
      } catch (e) {
        if (!(e instanceof OtaError)) throw e;
        this.espError = e;
      } finally {
        this.current = new Uint8Array(0);
      }
    }
    if (this.wholeFed < this.received) {
      this.whole.update(this.wholeFed === start ? bytes : bytes.subarray(this.wholeFed - start));
      this.wholeFed = this.received;
    }
    const cs = this.chunkSize;
    if (cs === undefined) return;
    let i = 0;
    while (i < bytes.length) {
      const take = Math.min(cs - this.chunkHave, bytes.length - i);
      const piece = bytes.subarray(i, i + take);
      i += take;
      const last = this.received === this.size && i === bytes.length;
      if (this.chunkHave === 0 && (take === cs || last)) {
        // A whole chunk in one piece.
        const at = this.slot(this.chunkIndex);
        digestInto(this.hash, piece, this.digests, at);
        this.onChunk(this.chunkIndex++, at);
        continue;
      }
      (this.chunk ??= this.hash()).update(piece);
      this.chunkHave += take;
      if (this.chunkHave === cs || last) {
        const at = this.slot(this.chunkIndex);
        this.digests.set(this.chunk.digest(), at);
        this.chunk = undefined;
        this.chunkHave = 0;
        this.onChunk(this.chunkIndex++, at);
      }
    }
  }

  digest(): Uint8Array {
    return this.whole.digest();
  }
}

export class PayloadChecker {
  private readonly pass: PayloadPass;

  constructor(
    private readonly manifest: Manifest,
    table: Uint8Array,
    hash: HashFactory = pureHash,
  ) {
    const d = new Uint8Array(32);
    this.pass = new PayloadPass(manifest.size, manifest.chunkSize, hash, d, () => 0, (index) => {
      const at = index * 32;
      for (let k = 0; k < 32; k++) {
        if (d[k] !== table[at + k]) throw new OtaError('chunk', `chunk ${index} does not match its digest`);
      }
    });
  }

  get bytesReceived(): number {
    return this.pass.received;
  }

  push(bytes: Uint8Array): void {
    this.pass.push(bytes);
  }

  /** Size, digest, image structure, then the manifest's ESP fields, in that order. */
  finish(): EspImageInfo {
    const received = this.pass.received;
    if (received < this.manifest.size) {
      throw new OtaError('truncated', `payload is ${received} bytes, the manifest declares ${this.manifest.size}`);
    }
    if (!equalBytes(this.pass.digest(), this.manifest.sha256)) throw new OtaError('digest', 'payload SHA-256 does not match the manifest');
    if (this.pass.espError) throw this.pass.espError;
    const info = this.pass.esp.finish();
    crossCheckEsp(info, this.manifest);
    return info;
  }
}

/**
 * What packing needs from an image, in one pass: the parse (a bad image throws its OtaError), the
 * payload's SHA-256 and the chunk table (empty for chunkSize 0).
 */
export function digestPayload(payload: Uint8Array, chunkSize: number, hash: HashFactory = pureHash): { info: EspImageInfo; sha256: Uint8Array; table: Uint8Array } {
  const table = new Uint8Array(chunkSize > 0 ? chunkCount(payload.length, chunkSize) * 32 : 0);
  const pass = new PayloadPass(payload.length, chunkSize > 0 ? chunkSize : undefined, hash, table, (index) => index * 32, () => {});
  pass.push(payload);
  if (pass.espError) throw pass.espError;
  return { info: pass.esp.finish(), sha256: pass.digest(), table };
}

/** Checks a whole in-memory payload: the CLI's and the tests' path, same order as the device. */
export function checkPayload(payload: Uint8Array, m: Manifest, table: Uint8Array, hash?: HashFactory): EspImageInfo {
  const c = new PayloadChecker(m, table, hash);
  c.push(payload.subarray(0, Math.min(payload.length, m.size)));
  if (payload.length > m.size) throw new OtaError('trailing', `payload is ${payload.length} bytes, the manifest declares ${m.size}`);
  return c.finish();
}
