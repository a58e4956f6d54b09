// Chunk-digest table and whole-payload checking. The table (SHA-256 of each chunkSize slice of the
// payload, in order) lets a device reject a bad block the moment it arrives and resume by chunk;
// the manifest signs the table's digest, so the table itself needs no signature.
//
// PayloadChecker reports integrity before meaning: a chunk or digest mismatch wins over whatever
// the ESP image parser made of the damaged bytes, so tampering reads as tampering.

import { EspImageStreamParser, type EspImageInfo } from './esp-image';
import type { Manifest } from './manifest';
import { equalBytes } from './bytes';
import { OtaError } from './reasons';
import { Sha256, type HashFactory } from './sha256';

export type { HashFactory } from './sha256';
export const pureHash: HashFactory = () => new Sha256();

/** SHA-256 of `bytes` with `hash`. */
export function digestOf(bytes: Uint8Array, hash: HashFactory = pureHash): Uint8Array {
  const h = hash();
  h.update(bytes);
  return h.digest();
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

export function buildChunkTable(payload: Uint8Array, chunkSize: number, hash: HashFactory = pureHash): Uint8Array {
  const n = chunkCount(payload.length, chunkSize);
  const table = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) table.set(digestOf(payload.subarray(i * chunkSize, (i + 1) * chunkSize), hash), i * 32);
  return table;
}

/** Checks the table against the signed manifest; throws 'chunk'. */
export function checkChunkTable(table: Uint8Array, m: Manifest, hash?: HashFactory): void {
  if (m.chunkSize === undefined || m.chunkTableSha256 === undefined) {
    if (table.length !== 0) throw new OtaError('chunk', 'package has a chunk table but the manifest declares none');
    return;
  }
  const want = chunkCount(m.size, m.chunkSize) * 32;
  if (table.length !== want) throw new OtaError('chunk', `chunk table is ${table.length} bytes, the manifest implies ${want}`);
  if (!equalBytes(digestOf(table, hash), m.chunkTableSha256)) throw new OtaError('chunk', 'chunk table digest does not match the manifest');
}

/** Verifies chunk `index` of a payload against the table; throws 'chunk'. */
export function checkChunk(table: Uint8Array, index: number, bytes: Uint8Array, hash?: HashFactory): void {
  const d = digestOf(bytes, hash);
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
  for (const k of Object.keys(got) as (keyof typeof got)[]) {
    if (got[k] !== m[k]) throw new OtaError('esp-mismatch', `${k}: image says ${String(got[k])}, manifest says ${String(m[k])}`);
  }
  if (info.totalLength !== m.size) throw new OtaError('esp-mismatch', `image is ${info.totalLength} bytes, manifest says ${m.size}`);
}

type Hash = ReturnType<HashFactory>;

export class PayloadChecker {
  private readonly whole: Hash;
  private readonly esp: EspImageStreamParser;
  private espError: OtaError | undefined;
  private chunk: Hash | undefined;
  private chunkIndex = 0;
  private chunkHave = 0;
  private received = 0;

  constructor(
    private readonly manifest: Manifest,
    private readonly table: Uint8Array,
    private readonly hash: HashFactory = pureHash,
  ) {
    this.whole = hash();
    this.esp = new EspImageStreamParser({ hash });
    if (manifest.chunkSize !== undefined) this.chunk = hash();
  }

  get bytesReceived(): number {
    return this.received;
  }

  push(bytes: Uint8Array): void {
    const room = this.manifest.size - this.received;
    if (bytes.length > room) throw new OtaError('trailing', `payload is longer than the ${this.manifest.size} bytes the manifest declares`);
    this.received += bytes.length;
    this.whole.update(bytes);
    const cs = this.manifest.chunkSize;
    if (cs !== undefined) {
      let i = 0;
      while (i < bytes.length) {
        const take = Math.min(cs - this.chunkHave, bytes.length - i);
        (this.chunk as Hash).update(bytes.subarray(i, i + take));
        this.chunkHave += take;
        i += take;
        if (this.chunkHave === cs || (this.received === this.manifest.size && i === bytes.length)) this.endChunk();
      }
    }
    if (!this.espError) {
      try {
        this.esp.push(bytes);
      } catch (e) {
        if (!(e instanceof OtaError)) throw e;
        this.espError = e;
      }
    }
  }

  private endChunk(): void {
    const d = (this.chunk as Hash).digest();
    const at = this.chunkIndex * 32;
    for (let k = 0; k < 32; k++) {
      if (d[k] !== this.table[at + k]) throw new OtaError('chunk', `chunk ${this.chunkIndex} does not match its digest`);
    }
    this.chunkIndex++;
    this.chunkHave = 0;
    this.chunk = this.hash();
  }

  /** Size, digest, image structure, then the manifest's ESP fields, in that order. */
  finish(): EspImageInfo {
    if (this.received < this.manifest.size) {
      throw new OtaError('truncated', `payload is ${this.received} bytes, the manifest declares ${this.manifest.size}`);
    }
    if (!equalBytes(this.whole.digest(), this.manifest.sha256)) throw new OtaError('digest', 'payload SHA-256 does not match the manifest');
    if (this.espError) throw this.espError;
    const info = this.esp.finish();
    crossCheckEsp(info, this.manifest);
    return info;
  }
}

/** Checks a whole in-memory payload: the CLI's and the tests' path, same order as the device. */
export function checkPayload(payload: Uint8Array, m: Manifest, table: Uint8Array, hash?: HashFactory): EspImageInfo {
  const c = new PayloadChecker(m, table, hash);
  c.push(payload.subarray(0, Math.min(payload.length, m.size)));
  if (payload.length > m.size) throw new OtaError('trailing', `payload is ${payload.length} bytes, the manifest declares ${m.size}`);
  return c.finish();
}
