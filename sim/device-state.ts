// `canopy sim --state DIR`: each simulated device's NVS settings and outbox flash in files, so a
// simulator that is stopped or killed (even kill -9) comes back like a power-cycled fleet: sample
// seq numbers continue from the firmware's stored reservation, and QoS 1/2 messages still queued in
// the outbox go out after the restart. Layout: DIR/<device id>/nvs.json and DIR/<device id>/outbox.log
// (the firmware's own outbox records, protocol/session/record.ts, appended as it writes them).
// Every write is a synchronous write(2): it survives the process dying, not an OS crash.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { replayLog } from '../protocol/session/record.ts';
import { DeviceFlash } from './sim-device.ts';

type Setting = string | number | boolean;

/** Appends between rewrites of the outbox file with only its live records. */
const COMPACT_EVERY = 256;

/** NVS as a Map that writes itself out (atomically: aside, then rename) on every change. */
class StoredSettings extends Map<string, Setting> {
  private ready = false;

  constructor(private readonly path: string) {
    super();
    if (existsSync(path)) {
      let saved: unknown;
      try {
        saved = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new Error(`the simulator state file ${path} is not valid JSON (${(err as Error).message}); delete it to start this device afresh`);
      }
      for (const [k, v] of Object.entries(saved as Record<string, unknown>)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') super.set(k, v);
      }
    }
    this.ready = true;
  }

  override set(key: string, value: Setting): this {
    super.set(key, value);
    if (this.ready) this.save();
    return this;
  }

  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.save();
    return had;
  }

  override clear(): void {
    super.clear();
    this.save();
  }

  private save(): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this)));
    renameSync(tmp, this.path);
  }
}

export class StoredFlash extends DeviceFlash {
  private fd: number | undefined;
  private appends = 0;
  /** Replaying the file at construction: those records are on disk already. */
  private loading = true;

  private constructor(
    readonly dir: string,
    private readonly logPath: string,
  ) {
    super(new StoredSettings(join(dir, 'nvs.json')));
    if (existsSync(logPath)) {
      const log = readFileSync(logPath);
      const { goodBytes } = replayLog(log);
      // A torn record at the end is a write cut by the kill: drop it so appends stay aligned.
      if (goodBytes < log.length) truncateSync(logPath, goodBytes);
      if (goodBytes > 0) this.appendRecord(new Uint8Array(log.buffer, log.byteOffset, goodBytes));
    }
    this.loading = false;
  }

  /** The state of device `id` under `dir`, made on first use. */
  static open(dir: string, id: string): StoredFlash {
    if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith('.')) throw new Error(`device id "${id}" cannot name a state directory`);
    const deviceDir = join(dir, id);
    try {
      mkdirSync(deviceDir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot use ${dir} for simulator state: ${(err as Error).message}`);
    }
    return new StoredFlash(deviceDir, join(deviceDir, 'outbox.log'));
  }

  protected override get keepsRecords(): boolean {
    return true;
  }

  protected override recorded(record: Uint8Array): void {
    if (this.loading) return;
    this.fd ??= openSync(this.logPath, 'a');
    writeSync(this.fd, record);
    if (++this.appends >= COMPACT_EVERY) this.compactFile();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Rewrites the file with only the live records, as the in-memory log already is. */
  private compactFile(): void {
    this.appends = 0;
    const live = this.readLog();
    const tmp = `${this.logPath}.tmp`;
    writeFileSync(tmp, live);
    this.close();
    renameSync(tmp, this.logPath);
  }
}
