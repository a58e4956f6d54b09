// `canopy ota push`: offer a package to devices over MQTT and serve the blocks they ask for. The
// pusher never decides what a device needs: it answers requests, so a device that resumes after a
// drop or a reboot gets only the blocks it has not written. Progress and the final status come
// from the device (transfer.ts messages).
import { Session } from '../protocol/session/session.ts';
import { Topics } from '../protocol/topics.ts';
import { parsePackage, toHex, type PackageParts } from '../protocol/ota/package.ts';
import { decodeManifest, type Manifest } from '../protocol/ota/manifest.ts';
import { describeReason, reasonFromCode } from '../protocol/ota/reasons.ts';
import { sha256 } from '../protocol/ota/sha256.ts';
import {
  decodeRequest,
  decodeStatus,
  encodeBlock,
  encodeOffer,
  ID_LENGTH,
  OTA_TOPICS,
  requestedBlocks,
  type TransferStatus,
} from '../protocol/ota/transfer.ts';
import { SessionDriver } from '../host/transport.ts';
import { parseFlags, intFlag, UsageError } from '../host/flags.ts';
import type { SessionEvent } from '../protocol/session/events.ts';

export const FINAL_STATES = new Set(['refused', 'confirmed', 'rolled-back', 'failed']);

export interface DeviceResult {
  deviceId: string;
  state: string;
  reason: number;
  reasonName: string;
  detail?: string;
  done: number;
  total: number;
}

export interface PushStats {
  blocksSent: number;
  bytesSent: number;
  /** Blocks sent more than once to the same device, and their bytes. */
  resentBlocks: number;
  resentBytes: number;
}

export interface PushOptions {
  topics?: Topics;
  /** Give up on a device after this long without any message from it (ms). Default 60000. */
  idleTimeoutMs?: number;
  /** Offer again to a device that has not answered yet (it may have been offline). Default 2000. */
  reofferMs?: number;
  onStatus?: (deviceId: string, s: TransferStatus) => void;
}

/** Serves one package to a set of devices over an already started SessionDriver. */
export class OtaPusher {
  readonly stats: PushStats = { blocksSent: 0, bytesSent: 0, resentBlocks: 0, resentBytes: 0 };
  readonly parts: PackageParts;
  readonly manifest: Manifest;
  private readonly id: Uint8Array;
  private readonly topics: Topics;
  private readonly blockSize: number;
  private readonly sent = new Map<string, Map<number, number>>();
  private readonly results = new Map<string, DeviceResult>();
  private readonly lastHeard = new Map<string, number>();
  private readonly answered = new Set<string>();
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listener = (e: SessionEvent) => this.onEvent(e);

  constructor(
    private readonly driver: SessionDriver,
    pkg: Uint8Array,
    private readonly devices: string[],
    private readonly options: PushOptions = {},
  ) {
    this.parts = parsePackage(pkg);
    this.manifest = decodeManifest(this.parts.envelope.manifestBytes);
    this.id = sha256(this.parts.envelope.manifestBytes).slice(0, ID_LENGTH);
    this.topics = options.topics ?? new Topics();
    this.blockSize = this.manifest.chunkSize ?? 4096;
  }

  /** Offers the package and resolves with every device's final status (or a timeout). */
  run(): Promise<DeviceResult[]> {
    const done = new Promise<void>((r) => (this.resolve = r));
    this.driver.on('event', this.listener);
    this.driver.subscribe(
      this.devices.flatMap((d) => [
        { topic: this.topics.ota(d, OTA_TOPICS.request), qos: 1 as const },
        { topic: this.topics.ota(d, OTA_TOPICS.status), qos: 1 as const },
      ]),
    );
    const offer = encodeOffer({ envelope: this.parts.envelopeBytes, table: this.parts.table });
    const now = performance.now();
    for (const d of this.devices) {
      this.sent.set(d, new Map());
      this.lastHeard.set(d, now);
      this.driver.publish(this.topics.ota(d, OTA_TOPICS.offer), offer, { qos: 1 });
    }
    const idle = this.options.idleTimeoutMs ?? 60_000;
    const reoffer = this.options.reofferMs ?? 2000;
    let lastOffer = now;
    this.timer = setInterval(() => {
      const t = performance.now();
      if (t - lastOffer >= reoffer) {
        lastOffer = t;
        for (const d of this.devices) {
          if (!this.answered.has(d) && !this.results.has(d)) this.driver.publish(this.topics.ota(d, OTA_TOPICS.offer), offer, { qos: 1 });
        }
      }
      for (const d of this.devices) {
        if (!this.results.has(d) && t - (this.lastHeard.get(d) ?? t) > idle) {
          this.finish(d, { deviceId: d, state: 'timeout', reason: 1, reasonName: 'timeout', detail: `no word for ${idle} ms`, done: 0, total: 0 });
        }
      }
    }, Math.min(idle, reoffer, 1000));
    return done.then(() => this.devices.map((d) => this.results.get(d)!));
  }

  private onEvent(e: SessionEvent): void {
    if (e.type !== 'message' || e.retain) return; // retained statuses are from earlier pushes
    const t = this.topics.parse(e.topic);
    if (!t || t.kind !== 'ota' || !this.sent.has(t.deviceId) || this.results.has(t.deviceId)) return;
    this.lastHeard.set(t.deviceId, performance.now());
    this.answered.add(t.deviceId);
    try {
      if (t.sub === OTA_TOPICS.request) this.serve(t.deviceId, e.payload);
      else if (t.sub === OTA_TOPICS.status) this.onStatus(t.deviceId, e.payload);
    } catch {
      // A malformed message from a device is its problem; it will ask again.
    }
  }

  private serve(device: string, payload: Uint8Array): void {
    const r = decodeRequest(payload);
    if (toHex(r.id) !== toHex(this.id)) return;
    const sent = this.sent.get(device)!;
    const { payload: image } = this.parts;
    for (const i of requestedBlocks(r)) {
      const at = i * this.blockSize;
      if (at >= image.length) continue;
      const data = image.subarray(at, Math.min(at + this.blockSize, image.length));
      const n = sent.get(i) ?? 0;
      if (n > 0) {
        this.stats.resentBlocks++;
        this.stats.resentBytes += data.length;
      }
      sent.set(i, n + 1);
      this.stats.blocksSent++;
      this.stats.bytesSent += data.length;
      this.driver.publish(this.topics.ota(device, OTA_TOPICS.block), encodeBlock({ id: this.id, index: i, data }), { qos: 0 });
    }
  }

  private onStatus(device: string, payload: Uint8Array): void {
    const s = decodeStatus(payload);
    if (s.id && toHex(s.id) !== toHex(this.id)) return;
    if (!s.id && s.seq !== this.manifest.seq && s.state !== 'refused') return;
    this.options.onStatus?.(device, s);
    if (FINAL_STATES.has(s.state)) {
      const name = s.reason ? (reasonFromCode(s.reason) ?? `code ${s.reason}`) : s.state;
      this.finish(device, { deviceId: device, state: s.state, reason: s.reason, reasonName: name, detail: s.detail, done: s.done, total: s.total });
    }
  }

  private finish(device: string, r: DeviceResult): void {
    this.results.set(device, r);
    if (this.results.size === this.devices.length) {
      clearInterval(this.timer);
      this.driver.off('event', this.listener);
      this.resolve?.();
    }
  }
}

function bar(done: number, total: number, width = 24): string {
  const f = total ? Math.round((done / total) * width) : 0;
  return '[' + '#'.repeat(f) + '-'.repeat(width - f) + `] ${total ? Math.floor((done / total) * 100) : 0}%`;
}

export async function pushCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      broker: { type: 'string' },
      device: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      prefix: { type: 'string' },
      timeout: { type: 'string' },
      'client-id': { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('give exactly one PKG');
  if (!values.broker) throw new UsageError('--broker is required');
  if (!values.device?.length) throw new UsageError('--device is required');
  const { readFileSync } = await import('node:fs');
  const pkg = new Uint8Array(readFileSync(positionals[0]));
  const session = new Session({ clientId: values['client-id'] ?? `canopy-push-${Math.random().toString(36).slice(2, 10)}`, cleanSession: false, keepalive: 30 });
  const driver = new SessionDriver(session, values.broker).start();
  const shown = new Map<string, string>();
  const pusher = new OtaPusher(driver, pkg, values.device, {
    topics: new Topics(values.prefix ?? 'canopy'),
    idleTimeoutMs: intFlag('timeout', values.timeout, 60, 1) * 1000,
    onStatus(d, s) {
      if (values.json) {
        console.log(JSON.stringify({ device: d, state: s.state, reason: s.reason, done: s.done, total: s.total, seq: s.seq, detail: s.detail }));
        return;
      }
      const line = `${d.padEnd(16)} ${bar(s.done, s.total)} ${s.state}`;
      if (shown.get(d) !== line) console.error(line);
      shown.set(d, line);
    },
  });
  const results = await pusher.run();
  await driver.stop();
  let failed = 0;
  for (const r of results) {
    if (r.state !== 'confirmed') failed++;
    if (values.json) console.log(JSON.stringify({ device: r.deviceId, final: r.state, reason: r.reasonName, code: r.reason, detail: r.detail }));
    else {
      const why = r.reason ? `: ${r.reasonName} (${describeReason(reasonFromCode(r.reason) ?? 'ok')})${r.detail ? ' ' + r.detail : ''}` : '';
      console.log(`${r.deviceId}: ${r.state}${why}`);
    }
  }
  if (!values.json) console.error(`${pusher.stats.bytesSent} bytes in ${pusher.stats.blocksSent} blocks, ${pusher.stats.resentBytes} bytes re-sent`);
  return failed === 0 ? 0 : results.length === 1 && results[0].reason >= 10 ? results[0].reason : 1;
}
