// Device-side installer: a state machine over an injected flash slot and a persisted record, with
// no I/O of its own. The order is the security argument: authenticate the envelope, decode the
// manifest and apply policy before the slot is touched; check each chunk against the signed table
// before writing it and read it back after; check the whole image again from flash before the boot
// partition switches; and advance the stored sequence only when the new image confirms itself.
//
// Persisted record (CBOR, one definition here) lets a transfer resume after power loss without
// re-fetching a completed chunk, and remembers packages that rolled back so they are not retried.

import { decode, encode, type CborValue } from '../cbor/index';
import { checkChunk, checkChunkTable, chunkCount, digestWith, PayloadChecker, pureHash, type HashFactory } from './chunks';
import { decodeManifest, type Manifest } from './manifest';
import { decodeEnvelope, toHex } from './package';
import { checkPolicy, type DeviceContext } from './policy';
import { OtaError } from './reasons';
import { equalBytes } from './bytes';
import type { TrustStore } from './trust';
import { authenticate, type SignatureVerifier } from './verifier';

/** The update slot and the boot/rollback controls, as the platform provides them. */
export interface OtaFlash {
  /** Bytes in the update slot. */
  readonly slotSize: number;
  /** Erases the update slot for an image of `size` bytes (esp_ota_begin / Update.open). */
  begin(size: number): void;
  /** Reopens the slot after a reboot without erasing it, to resume a transfer. */
  resume(size: number): void;
  /** Programs bytes at an offset; rewriting identical bytes must be harmless (NOR flash is). */
  write(offset: number, bytes: Uint8Array): void;
  read(offset: number, length: number): Uint8Array;
  /** Makes the slot the next boot partition (esp_ota_end + esp_ota_set_boot_partition). */
  complete(): void;
  /** Abandons the slot (Update close without complete). */
  abort(): void;
  /** State of the running image: 'pending-verify' on the first boot after an update. */
  runningState(): 'pending-verify' | 'valid';
  /** esp_ota_mark_app_valid_cancel_rollback(). */
  markValid(): void;
  /** esp_ota_mark_app_invalid_rollback_and_reboot(): the caller reboots (or the platform does). */
  markInvalid(): void;
}

/**
 * Where the installer's records live (NVS keys, files, embedded:storage). Two records: 'state' is
 * small and rewritten after every block; 'package' (envelope + chunk table) is written once per
 * transfer, so per-block saves stay small for flash wear and time.
 */
export interface OtaRecordStore {
  load(key: 'state' | 'package'): Uint8Array | undefined;
  save(key: 'state' | 'package', bytes: Uint8Array): void;
}

export interface InstallerOptions {
  flash: OtaFlash;
  store: OtaRecordStore;
  trust: TrustStore;
  verifier: SignatureVerifier;
  /** SHA-256 for chunks, the whole image and the manifest id: the platform's native digest. Default pure TS. */
  hash?: HashFactory;
  /** This device's identity; installedSeq and now come from the record and the caller. */
  device: Omit<DeviceContext, 'installedSeq' | 'now' | 'partitionSize'>;
  /** Installs of one package that may roll back before it is refused for good. Default 1. */
  maxAttempts?: number;
  /** Block size when a package has no chunk table. Default 4096. */
  blockSize?: number;
}

export type InstallerState = 'idle' | 'receiving' | 'pending-verify';

export type BootReport =
  | { kind: 'idle'; installedSeq: number }
  | { kind: 'resume'; seq: number; missing: number }
  | { kind: 'self-test'; seq: number }
  | { kind: 'rolled-back'; seq: number; attempts: number }
  | { kind: 'confirmed'; seq: number };

export interface Transfer {
  /** SHA-256 of the manifest bytes: the package's identity in messages and the record. */
  id: Uint8Array;
  manifest: Manifest;
  envelope: Uint8Array;
  table: Uint8Array;
  blockSize: number;
  blocks: number;
  /** One bit per block, LSB first: set when written and read back. */
  done: Uint8Array;
}

const STAGE = { idle: 0, receiving: 1, switched: 2 } as const;
type Stage = (typeof STAGE)[keyof typeof STAGE];

export class OtaInstaller {
  private readonly o: InstallerOptions;
  private installed = 0;
  private failures = new Map<number, number>();
  private stage: Stage = STAGE.idle;
  private t: Transfer | undefined;
  private pendingVerify = false;

  constructor(options: InstallerOptions) {
    this.o = options;
  }

  get installedSeq(): number {
    return this.installed;
  }

  get state(): InstallerState {
    if (this.pendingVerify) return 'pending-verify';
    return this.t ? 'receiving' : 'idle';
  }

  get transfer(): Transfer | undefined {
    return this.t;
  }

  /** Reads the record and reconciles it with what the bootloader did. Call once at startup. */
  boot(): BootReport {
    this.loadRecord();
    const t = this.t;
    if (this.o.flash.runningState() === 'pending-verify') {
      // Whether or not the record caught up with the switch (power loss right after complete()).
      if (!t) throw new OtaError('flash', 'running a pending-verify image the installer has no record of');
      this.pendingVerify = true;
      this.stage = STAGE.switched;
      this.save();
      return { kind: 'self-test', seq: t.manifest.seq };
    }
    if (this.stage === STAGE.switched && t) {
      // We switched and rebooted, yet the old image runs: the bootloader rolled the update back.
      const seq = t.manifest.seq;
      const attempts = (this.failures.get(seq) ?? 0) + 1;
      this.failures.set(seq, attempts);
      this.clearTransfer();
      return { kind: 'rolled-back', seq, attempts };
    }
    if (t) {
      this.o.flash.resume(t.manifest.size);
      return { kind: 'resume', seq: t.manifest.seq, missing: this.missing().length };
    }
    return { kind: 'idle', installedSeq: this.installed };
  }

  /**
   * Checks an offered envelope and chunk table; on success opens (or resumes) the slot. Throws
   * OtaError and leaves flash untouched for any envelope, policy or table failure.
   */
  offer(envelope: Uint8Array, table: Uint8Array, now?: number): Transfer {
    if (this.pendingVerify) throw new OtaError('busy', 'the running update has not confirmed yet');
    const { envelope: env, signers } = authenticate(envelope, this.o.trust, this.o.verifier);
    const manifest = decodeManifest(env.manifestBytes);
    const id = digestWith(this.o.hash ?? pureHash, env.manifestBytes);
    if (this.t && equalBytes(this.t.id, id)) return this.t; // the same package again: resume
    checkPolicy(manifest, signers, { ...this.o.device, installedSeq: this.installed, now, partitionSize: this.o.flash.slotSize });
    const attempts = this.failures.get(manifest.seq) ?? 0;
    if (attempts >= (this.o.maxAttempts ?? 1)) {
      throw new OtaError('rollback', `sequence ${manifest.seq} rolled back ${attempts} time(s) and is not retried`);
    }
    if (this.t && manifest.seq <= this.t.manifest.seq) {
      throw new OtaError('busy', `sequence ${this.t.manifest.seq} is being received; only a newer package replaces it`);
    }
    checkChunkTable(table, manifest, this.o.hash);
    if (this.t) this.cancel();
    const blockSize = manifest.chunkSize ?? this.o.blockSize ?? 4096;
    const blocks = chunkCount(manifest.size, blockSize);
    const t: Transfer = { id, manifest, envelope: envelope.slice(), table: table.slice(), blockSize, blocks, done: new Uint8Array(Math.ceil(blocks / 8)) };
    // Erase first: a power cut before the save leaves no record and nothing half-claimed.
    this.flashOp(() => this.o.flash.begin(manifest.size));
    this.t = t;
    this.stage = STAGE.receiving;
    this.o.store.save('package', encode([t.envelope, t.table]));
    this.save();
    return t;
  }

  /** Block indexes still to fetch, in order. */
  missing(): number[] {
    const t = this.t;
    if (!t) return [];
    const out: number[] = [];
    for (let i = 0; i < t.blocks; i++) if (!(t.done[i >> 3] & (1 << (i & 7)))) out.push(i);
    return out;
  }

  /** Writes one block (any order; a duplicate is ignored). True when every block is in. */
  writeBlock(index: number, bytes: Uint8Array): boolean {
    const t = this.t;
    if (!t) throw new OtaError('busy', 'no transfer in progress');
    if (!Number.isInteger(index) || index < 0 || index >= t.blocks) throw new OtaError('chunk', `block ${index} is outside 0..${t.blocks - 1}`);
    const want = Math.min(t.blockSize, t.manifest.size - index * t.blockSize);
    if (bytes.length !== want) throw new OtaError('chunk', `block ${index} is ${bytes.length} bytes, expected ${want}`);
    if (t.done[index >> 3] & (1 << (index & 7))) return this.missing().length === 0;
    if (t.table.length) checkChunk(t.table, index, bytes, this.o.hash);
    const at = index * t.blockSize;
    this.flashOp(() => this.o.flash.write(at, bytes));
    const back = this.flashOp(() => this.o.flash.read(at, bytes.length));
    if (!equalBytes(back, bytes)) {
      this.cancel();
      throw new OtaError('flash', `read-back of block ${index} differs from what was written`);
    }
    t.done[index >> 3] |= 1 << (index & 7);
    this.save();
    return this.missing().length === 0;
  }

  /**
   * Re-reads the whole slot, checks it against the manifest (chunks, digest, ESP image and fields)
   * and switches the boot partition. The caller reboots into the new image afterwards.
   */
  finish(): void {
    const t = this.t;
    if (!t) throw new OtaError('busy', 'no transfer in progress');
    if (this.missing().length) throw new OtaError('truncated', `${this.missing().length} block(s) still missing`);
    const checker = new PayloadChecker(t.manifest, t.table, this.o.hash);
    try {
      for (let at = 0; at < t.manifest.size; at += t.blockSize) {
        const n = Math.min(t.blockSize, t.manifest.size - at);
        checker.push(this.flashOp(() => this.o.flash.read(at, n)));
      }
      checker.finish();
    } catch (e) {
      if (e instanceof OtaError) this.cancel();
      throw e;
    }
    this.flashOp(() => this.o.flash.complete());
    this.stage = STAGE.switched;
    this.save();
  }

  /** The self-test passed: keep the image and only now advance the stored sequence. */
  confirm(): number {
    const t = this.t;
    if (!this.pendingVerify || !t) throw new OtaError('busy', 'nothing is awaiting confirmation');
    this.o.flash.markValid();
    this.installed = t.manifest.seq;
    this.failures.delete(t.manifest.seq);
    this.pendingVerify = false;
    this.clearTransfer();
    return this.installed;
  }

  /** The self-test failed: record the failure and roll back. The caller reboots. */
  reject(): number {
    const t = this.t;
    if (!this.pendingVerify || !t) throw new OtaError('busy', 'nothing is awaiting confirmation');
    const seq = t.manifest.seq;
    this.failures.set(seq, (this.failures.get(seq) ?? 0) + 1);
    this.pendingVerify = false;
    this.clearTransfer();
    this.o.flash.markInvalid();
    return seq;
  }

  /** Abandons the transfer in progress, if any. */
  cancel(): void {
    if (!this.t) return;
    this.o.flash.abort();
    this.clearTransfer();
  }

  private clearTransfer(): void {
    this.t = undefined;
    this.stage = STAGE.idle;
    this.save();
  }

  private flashOp<T>(op: () => T): T {
    try {
      return op();
    } catch (e) {
      if (e instanceof OtaError) throw e;
      throw new OtaError('flash', (e as Error).message);
    }
  }

  private save(): void {
    const r = new Map<CborValue, CborValue>([
      [1, this.installed],
      [2, [...this.failures].map(([s, n]) => [s, n])],
      [3, this.stage],
    ]);
    if (this.t) {
      r.set(4, this.t.id); // names the 'package' record this progress belongs to
      r.set(6, this.t.done);
    }
    this.o.store.save('state', encode(r));
  }

  private loadRecord(): void {
    const bytes = this.o.store.load('state');
    if (!bytes) return;
    let r: Map<CborValue, CborValue>;
    try {
      r = decode(bytes) as Map<CborValue, CborValue>;
      this.installed = r.get(1) as number;
      this.failures = new Map((r.get(2) as number[][]).map(([s, n]) => [s, n]));
      this.stage = r.get(3) as Stage;
    } catch (e) {
      throw new OtaError('flash', `installer record is unreadable: ${(e as Error).message}`);
    }
    const id = r.get(4);
    const pkg = this.o.store.load('package');
    if (id instanceof Uint8Array && pkg) {
      // Authenticated before it was saved; decoding again only rebuilds the manifest.
      const [envelope, table] = decode(pkg) as Uint8Array[];
      const manifestBytes = decodeEnvelope(envelope).manifestBytes;
      if (!equalBytes(digestWith(this.o.hash ?? pureHash, manifestBytes), id)) throw new OtaError('flash', 'installer records disagree about the package');
      const manifest = decodeManifest(manifestBytes);
      const blockSize = manifest.chunkSize ?? this.o.blockSize ?? 4096;
      this.t = {
        id,
        manifest,
        envelope,
        table,
        blockSize,
        blocks: chunkCount(manifest.size, blockSize),
        done: r.get(6) as Uint8Array,
      };
    }
  }
}

export function transferId(t: Transfer): string {
  return toHex(t.id);
}
