// A file-backed OutboxStore for Node hosts that run a Session themselves (`canopy session --store`):
// QoS 1/2 messages survive a process kill. An append-only log of protocol/session/record.ts records,
// compacted when the dead records outweigh the live ones. The simulator's devices do not use it:
// their firmware writes its own outbox records to the device's flash, which lives in memory unless
// `canopy sim --state DIR` keeps it in files (sim/device-state.ts).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { OutboundMessage } from '../protocol/session/message.ts';
import type { OutboxStore } from '../protocol/session/outbox.ts';
import { encodeRecord, replayLog } from '../protocol/session/record.ts';

export interface FileStoreOptions {
  /** fsync after every write: survives an OS crash, not only a process kill. Slower. */
  durable?: boolean;
}

export class FileStore implements OutboxStore {
  readonly path: string;
  private readonly durable: boolean;
  private fd: number | undefined;
  private live = new Map<number, { message: OutboundMessage; size: number }>();
  private logBytes = 0;
  private liveBytes = 0;

  constructor(path: string, options: FileStoreOptions = {}) {
    this.path = path;
    this.durable = options.durable ?? false;
  }

  load(): OutboundMessage[] {
    mkdirSync(dirname(this.path), { recursive: true });
    if (existsSync(this.path)) {
      let log: Buffer;
      try {
        log = readFileSync(this.path);
      } catch (err) {
        throw new Error(`cannot read the outbox store ${this.path}: ${(err as Error).message}`);
      }
      const { messages, goodBytes } = replayLog(log);
      // A torn record at the end is a write cut by power loss: drop it so appends stay aligned.
      if (goodBytes < log.length) truncateSync(this.path, goodBytes);
      this.logBytes = goodBytes;
      this.live = new Map(messages.map((m) => [m.id, { message: m, size: encodeRecord({ op: 'put', message: m }).length }]));
    }
    this.compactIfWasteful(true);
    return [...this.live.values()].map((e) => e.message);
  }

  put(message: OutboundMessage): void {
    const rec = encodeRecord({ op: 'put', message });
    this.append(rec);
    const old = this.live.get(message.id);
    if (old) this.liveBytes -= old.size;
    this.live.set(message.id, { message: { ...message }, size: rec.length });
    this.liveBytes += rec.length;
    this.compactIfWasteful(false);
  }

  delete(id: number): void {
    const old = this.live.get(id);
    if (!old) return;
    this.live.delete(id);
    this.liveBytes -= old.size;
    this.append(encodeRecord({ op: 'delete', id }));
    this.compactIfWasteful(false);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(bytes: Uint8Array): void {
    this.fd ??= openSync(this.path, 'a');
    writeSync(this.fd, bytes);
    if (this.durable) fsyncSync(this.fd);
    this.logBytes += bytes.length;
  }

  /** Rewrites the log with only live records, atomically (write aside, then rename). */
  private compactIfWasteful(force: boolean): void {
    if (!force && this.logBytes < 64 * 1024) return;
    if (!force && this.logBytes < this.liveBytes * 4) return;
    const parts = [...this.live.values()].sort((a, b) => a.message.id - b.message.id).map(({ message }) => encodeRecord({ op: 'put', message }));
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    for (const p of parts) writeSync(fd, p);
    if (this.durable) fsyncSync(fd);
    closeSync(fd);
    this.close();
    renameSync(tmp, this.path);
    this.logBytes = parts.reduce((n, p) => n + p.length, 0);
    this.liveBytes = this.logBytes;
  }
}
