// The push side of an OTA transfer, sans-I/O like protocol/session: fed the time and the messages
// that arrive on the devices' OTA topics, it says what to subscribe to and publish, which devices
// reached a final state, and when to call `tick` next. No timers, no clock, no sockets: the edge
// (push.ts) runs it on a SessionDriver, tests run it in virtual time against OtaAgents.
//
// The pusher never decides what a device needs: it answers requests with the package's bytes at
// the asked index, so a device that resumes after a drop or a reboot gets only the blocks it has
// not written, and a device asking for bytes the package lacks gets the (short or empty) truth and
// judges it. Progress and the final status come from the device (protocol/ota/transfer.ts).
import { Topics } from '../protocol/topics.ts';
import { parsePackage, toHex, type PackageParts } from '../protocol/ota/package.ts';
import { decodeManifest, type Manifest } from '../protocol/ota/manifest.ts';
import { reasonFromCode } from '../protocol/ota/reasons.ts';
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

export const FINAL_STATES = new Set(['refused', 'confirmed', 'rolled-back', 'failed']);

/** The exit code of a device that never reached a final state (not an OTA reason code). */
export const TIMEOUT_CODE = 1;

export interface DeviceResult {
  deviceId: string;
  /** A final TransferState, or 'timeout' when the device went quiet or never answered. */
  state: string;
  reason: number;
  reasonName: string;
  detail?: string;
  done: number;
  total: number;
  /** False when nothing at all came back from this device id. */
  answered?: boolean;
}

export interface PushStats {
  blocksSent: number;
  bytesSent: number;
  /** Blocks sent more than once to the same device, and their bytes. */
  resentBlocks: number;
  resentBytes: number;
}

export interface PusherOptions {
  topics?: Topics;
  /**
   * Give up on a device after this long without progress (ms): no answer at all, no new state,
   * no new block done, no request for a block not yet sent. Requests for the same blocks again
   * and again do not count, so a device stuck on a block that cannot be served still times out.
   * Default 60000.
   */
  idleTimeoutMs?: number;
  /** Offer again to a device that has not answered yet (it may have been offline). Default 2000. */
  reofferMs?: number;
}

export interface PusherPublish {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
}

export interface PusherOutput {
  /** Topic filters to subscribe to at QoS 1, before the publishes below go out. */
  subscribe: string[];
  publish: PusherPublish[];
  /** Fresh (non-retained) statuses, in arrival order, for progress display. */
  statuses: { deviceId: string; status: TransferStatus }[];
  /** Devices that reached a final state (or timed out) since the last drain. */
  results: DeviceResult[];
  /** Every device has a result: stop feeding and unsubscribe. */
  done: boolean;
  /** Call tick() at this time (same clock as `now`), if set. */
  deadline: number | undefined;
}

interface Target {
  sent: Map<number, number>;
  lastProgress: number;
  answered: boolean;
  last?: TransferStatus;
  /** A requested block index past the end of the package's image, if any. */
  beyondImage?: number;
  result?: DeviceResult;
}

export class Pusher {
  readonly stats: PushStats = { blocksSent: 0, bytesSent: 0, resentBlocks: 0, resentBytes: 0 };
  readonly parts: PackageParts;
  readonly manifest: Manifest;
  readonly devices: readonly string[];
  private readonly id: Uint8Array;
  private readonly idHex: string;
  private readonly topics: Topics;
  private readonly blockSize: number;
  private readonly idleMs: number;
  private readonly reofferMs: number;
  private readonly offer: Uint8Array;
  private readonly targets = new Map<string, Target>();
  private started = false;
  private lastOffer = 0;
  private out: PusherOutput = emptyOutput();

  constructor(pkg: Uint8Array | PackageParts, devices: readonly string[], options: PusherOptions = {}) {
    if (devices.length === 0) throw new Error('a push needs at least one device');
    this.parts = pkg instanceof Uint8Array ? parsePackage(pkg) : pkg;
    this.manifest = decodeManifest(this.parts.envelope.manifestBytes);
    this.id = sha256(this.parts.envelope.manifestBytes).slice(0, ID_LENGTH);
    this.idHex = toHex(this.id);
    this.devices = [...devices];
    this.topics = options.topics ?? new Topics();
    this.blockSize = this.manifest.chunkSize ?? 4096;
    this.idleMs = options.idleTimeoutMs ?? 60_000;
    this.reofferMs = options.reofferMs ?? 2000;
    this.offer = encodeOffer({ envelope: this.parts.envelopeBytes, table: this.parts.table });
  }

  get done(): boolean {
    return this.started && [...this.targets.values()].every((t) => t.result);
  }

  /** Every device's result, in the order given; undefined for one still in progress. */
  results(): (DeviceResult | undefined)[] {
    return this.devices.map((d) => this.targets.get(d)?.result);
  }

  /** Subscribes to every device's requests and statuses, and makes the first offers. */
  start(now: number): this {
    if (this.started) throw new Error('Pusher.start called twice');
    this.started = true;
    for (const d of this.devices) {
      this.targets.set(d, { sent: new Map(), lastProgress: now, answered: false });
      this.out.subscribe.push(this.topics.ota(d, OTA_TOPICS.request), this.topics.ota(d, OTA_TOPICS.status));
    }
    this.lastOffer = now;
    for (const d of this.devices) this.publish(d, OTA_TOPICS.offer, this.offer, 1);
    return this;
  }

  /** A message on any topic; `retain` ones are statuses left by earlier pushes and are ignored. */
  message(topic: string, payload: Uint8Array, now: number, retain = false): this {
    this.mustHaveStarted('message');
    if (retain) return this;
    const t = this.topics.parse(topic);
    if (!t || t.kind !== 'ota') return this;
    const target = this.targets.get(t.deviceId);
    if (!target || target.result) return this;
    try {
      if (t.sub === OTA_TOPICS.request) this.serve(t.deviceId, target, payload, now);
      else if (t.sub === OTA_TOPICS.status) this.onStatus(t.deviceId, target, payload, now);
    } catch {
      // A malformed message from a device is its problem; it will ask again.
    }
    return this;
  }

  tick(now: number): this {
    this.mustHaveStarted('tick');
    if (now - this.lastOffer >= this.reofferMs) {
      this.lastOffer = now;
      for (const [d, t] of this.targets) if (!t.answered && !t.result) this.publish(d, OTA_TOPICS.offer, this.offer, 1);
    }
    for (const [d, t] of this.targets) if (!t.result && now - t.lastProgress >= this.idleMs) this.finish(t, this.timeout(d, t));
    return this;
  }

  /** Everything produced since the last drain, and the next deadline. */
  drain(): PusherOutput {
    const o = this.out;
    this.out = emptyOutput();
    o.done = this.done;
    if (this.started && !o.done) {
      const deadlines: number[] = [];
      let unanswered = false;
      for (const t of this.targets.values()) {
        if (t.result) continue;
        deadlines.push(t.lastProgress + this.idleMs);
        if (!t.answered) unanswered = true;
      }
      if (unanswered) deadlines.push(this.lastOffer + this.reofferMs);
      o.deadline = Math.min(...deadlines);
    }
    return o;
  }

  private mustHaveStarted(call: string): void {
    if (!this.started) throw new Error(`Pusher.${call} before start`);
  }

  private heard(t: Target, now: number): void {
    if (!t.answered) t.lastProgress = now;
    t.answered = true;
  }

  private serve(device: string, t: Target, payload: Uint8Array, now: number): void {
    const r = decodeRequest(payload);
    if (toHex(r.id) !== this.idHex) return;
    this.heard(t, now);
    const image = this.parts.payload;
    for (const i of requestedBlocks(r)) {
      const at = i * this.blockSize;
      // Past the end the device gets an empty block and refuses it; it knows the expected size.
      if (at >= image.length) t.beyondImage ??= i;
      const data = image.subarray(Math.min(at, image.length), Math.min(at + this.blockSize, image.length));
      const n = t.sent.get(i) ?? 0;
      if (n > 0) {
        this.stats.resentBlocks++;
        this.stats.resentBytes += data.length;
      } else t.lastProgress = now;
      t.sent.set(i, n + 1);
      this.stats.blocksSent++;
      this.stats.bytesSent += data.length;
      this.publish(device, OTA_TOPICS.block, encodeBlock({ id: this.id, index: i, data }), 0);
    }
  }

  private onStatus(device: string, t: Target, payload: Uint8Array, now: number): void {
    const s = decodeStatus(payload);
    if (s.id && toHex(s.id) !== this.idHex) return;
    if (!s.id && s.seq !== this.manifest.seq && s.state !== 'refused') return;
    this.heard(t, now);
    if (!t.last || t.last.state !== s.state || t.last.done !== s.done) t.lastProgress = now;
    t.last = s;
    this.out.statuses.push({ deviceId: device, status: s });
    if (FINAL_STATES.has(s.state)) {
      const name = s.reason ? (reasonFromCode(s.reason) ?? `code ${s.reason}`) : s.state;
      this.finish(t, { deviceId: device, state: s.state, reason: s.reason, reasonName: name, detail: s.detail, done: s.done, total: s.total, answered: true });
    }
  }

  private timeout(device: string, t: Target): DeviceResult {
    const secs = `${Math.round(this.idleMs / 100) / 10} s`;
    let detail: string;
    if (!t.answered) detail = `no device answered as "${device}" within ${secs} (is it online, and are the device id and --prefix right?)`;
    else {
      const where = t.last ? `, last "${t.last.state}" at ${t.last.done}/${t.last.total} blocks` : '';
      detail = `device "${device}" made no progress for ${secs}${where}`;
      if (t.beyondImage !== undefined) detail += `; it asks for block ${t.beyondImage}, past the end of this package's ${this.parts.payload.length}-byte image`;
    }
    return { deviceId: device, state: 'timeout', reason: TIMEOUT_CODE, reasonName: 'timeout', detail, done: t.last?.done ?? 0, total: t.last?.total ?? 0, answered: t.answered };
  }

  private finish(t: Target, r: DeviceResult): void {
    t.result = r;
    this.out.results.push(r);
  }

  private publish(device: string, sub: string, payload: Uint8Array, qos: 0 | 1): void {
    this.out.publish.push({ topic: this.topics.ota(device, sub), payload, qos });
  }
}

function emptyOutput(): PusherOutput {
  return { subscribe: [], publish: [], statuses: [], results: [], done: false, deadline: undefined };
}
