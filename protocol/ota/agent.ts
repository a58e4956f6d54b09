// Device-side OTA agent, sans-I/O: fed the messages that arrive on its topics, connection changes
// and the time; it answers with publishes to make, events for the app, whether to reboot, and when
// to call `tick` next. The device app owns the MQTT Session and the self-test; the agent owns the
// transfer protocol (transfer.ts) and drives the installer.

import { Topics } from '../topics';
import { OtaInstaller, type BootReport, type Transfer } from './installer';
import { decodeEnvelope } from './package';
import { OtaError, reasonCode, type OtaReason } from './reasons';
import { sha256 } from './sha256';
import { equalBytes } from './bytes';
import {
  decodeBlock,
  decodeOffer,
  encodeRequest,
  encodeStatus,
  ID_LENGTH,
  MAX_BITMAP,
  OTA_TOPICS,
  requestFor,
  type TransferState,
  type TransferStatus,
} from './transfer';

export interface AgentOptions {
  installer: OtaInstaller;
  deviceId: string;
  topics?: Topics;
  /**
   * Blocks requested and not yet received, at most; more are asked for at half of it. Default 32:
   * at least 64 KiB of 4 KiB blocks stay queued at the broker, so a broker with Nagle on (stock
   * mosquitto) always has a full segment to send and never waits on this device's delayed ACK,
   * even on loopback where the MSS is 64 KiB. It costs the device nothing: blocks wait in the
   * broker and in TCP, not here.
   */
  window?: number;
  /** Ask again after this long without a requested block arriving (ms). Default 2000. */
  retryMs?: number;
  /**
   * A block that arrives and fails its check this many times abandons the transfer: the package
   * can never install (a corrupted byte, a wrong chunk entry, an image too long or too short), so
   * asking again forever would only keep the device busy. Default 5.
   */
  maxBlockFailures?: number;
  /** The app has this long to call selfTest(true) after booting an update (ms). Default 120000. */
  selfTestMs?: number;
  /** Wall-clock seconds for expiry checks; undefined when the device has no trusted time. */
  epochSeconds?: () => number | undefined;
}

export interface AgentPublish {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

export type AgentEvent =
  | { type: 'offer-refused'; reason: OtaReason; detail: string }
  | { type: 'transfer'; seq: number; blocks: number; missing: number; resumed: boolean }
  | { type: 'progress'; done: number; total: number }
  | { type: 'installed'; seq: number }
  | { type: 'self-test'; seq: number; deadline: number }
  | { type: 'confirmed'; seq: number }
  | { type: 'rolled-back'; seq: number }
  | { type: 'failed'; reason: OtaReason; detail: string }
  | { type: 'ignored'; detail: string };

export interface AgentOutput {
  publish: AgentPublish[];
  events: AgentEvent[];
  /** Reboot now (after the publishes are out): into the new image, or back to the old one. */
  reboot: boolean;
  /** Call tick() at this time (ms), if set. */
  deadline: number | undefined;
}

export class OtaAgent {
  private readonly installer: OtaInstaller;
  private readonly topics: Topics;
  private readonly id: string;
  private readonly window: number;
  private readonly retryMs: number;
  private readonly maxBlockFailures: number;
  /** Failed checks per block index, for the transfer in progress. */
  private blockFailures = new Map<number, number>();
  private readonly selfTestMs: number;
  private readonly epoch: () => number | undefined;
  private out: AgentOutput = { publish: [], events: [], reboot: false, deadline: undefined };
  private asked = new Set<number>();
  /** When blocks were last asked for or last arrived: silence since then triggers a re-ask. */
  private lastAsk = 0;
  private selfTestDeadline: number | undefined;
  private selfTestSeq = 0;
  /** Blocks that arrived already written: must stay 0 for a resume to be clean. */
  duplicates = 0;

  constructor(o: AgentOptions) {
    this.installer = o.installer;
    this.topics = o.topics ?? new Topics();
    this.id = o.deviceId;
    this.window = Math.min(o.window ?? 32, MAX_BITMAP * 8);
    this.retryMs = o.retryMs ?? 2000;
    this.maxBlockFailures = Math.max(1, o.maxBlockFailures ?? 5);
    this.selfTestMs = o.selfTestMs ?? 120_000;
    this.epoch = o.epochSeconds ?? (() => undefined);
  }

  /** Topics the app subscribes to (QoS 1) and routes to message(). */
  subscriptions(): string[] {
    return [this.topics.ota(this.id, OTA_TOPICS.offer), this.topics.ota(this.id, OTA_TOPICS.block)];
  }

  /** At startup: reconciles the installer with the bootloader and reports what happened. */
  start(now: number): AgentOutput {
    const r: BootReport = this.installer.boot();
    switch (r.kind) {
      case 'self-test':
        this.selfTestSeq = r.seq;
        this.selfTestDeadline = now + this.selfTestMs;
        this.event({ type: 'self-test', seq: r.seq, deadline: this.selfTestDeadline });
        this.status('self-test', 0);
        break;
      case 'rolled-back':
        this.event({ type: 'rolled-back', seq: r.seq });
        this.status('rolled-back', 0, undefined, r.seq, 'the update did not confirm before a reset');
        break;
      case 'resume': {
        const t = this.installer.transfer!;
        this.event({ type: 'transfer', seq: r.seq, blocks: t.blocks, missing: r.missing, resumed: true });
        break;
      }
      default:
        break;
    }
    return this.flush(now);
  }

  /** After every (re)connection: resume the transfer or repeat the state the host waits for. */
  connected(now: number): AgentOutput {
    if (this.installer.state === 'receiving') {
      this.asked.clear();
      this.status('receiving', 0);
      this.request(now);
    } else if (this.installer.state === 'pending-verify') this.status('self-test', 0);
    return this.flush(now);
  }

  message(topic: string, payload: Uint8Array, now: number): AgentOutput {
    const t = this.topics.parse(topic);
    if (!t || t.deviceId !== this.id || t.kind !== 'ota') this.event({ type: 'ignored', detail: `not an OTA topic of ${this.id}: ${topic}` });
    else if (t.sub === OTA_TOPICS.offer) this.onOffer(payload, now);
    else if (t.sub === OTA_TOPICS.block) this.onBlock(payload, now);
    else this.event({ type: 'ignored', detail: `unknown OTA sub-topic ${t.sub}` });
    return this.flush(now);
  }

  tick(now: number): AgentOutput {
    if (this.installer.state === 'receiving' && now >= this.lastAsk + this.retryMs) {
      this.asked.clear();
      this.request(now);
    }
    if (this.selfTestDeadline !== undefined && now >= this.selfTestDeadline) this.verdict(false);
    return this.flush(now);
  }

  /** The app's verdict on a freshly booted update (e.g. MQTT up and one good sensor read). */
  selfTest(passed: boolean, now: number): AgentOutput {
    this.verdict(passed);
    return this.flush(now);
  }

  private verdict(passed: boolean): void {
    if (this.installer.state !== 'pending-verify') return;
    this.selfTestDeadline = undefined;
    if (passed) {
      const seq = this.installer.confirm();
      this.event({ type: 'confirmed', seq });
      this.status('confirmed', 0, undefined, seq);
    } else {
      const seq = this.installer.reject();
      this.event({ type: 'rolled-back', seq });
      this.status('rolled-back', 0, undefined, seq, 'self-test failed');
      this.out.reboot = true;
    }
  }

  private onOffer(payload: Uint8Array, now: number): void {
    let id: Uint8Array | undefined;
    try {
      const offer = decodeOffer(payload);
      try {
        id = sha256(decodeEnvelope(offer.envelope).manifestBytes).slice(0, ID_LENGTH);
      } catch {
        // The installer reports the envelope fault with its reason below.
      }
      const before = this.installer.transfer;
      const resumed = before !== undefined;
      const t = this.installer.offer(offer.envelope, offer.table, this.epoch());
      if (t !== before) this.blockFailures.clear();
      const missing = this.installer.missing().length;
      this.event({ type: 'transfer', seq: t.manifest.seq, blocks: t.blocks, missing, resumed: resumed && missing < t.blocks });
      this.asked.clear();
      this.status('receiving', 0);
      this.request(now);
    } catch (e) {
      if (!(e instanceof OtaError)) throw e;
      this.event({ type: 'offer-refused', reason: e.reason, detail: e.detail });
      this.status('refused', reasonCode(e.reason), id, 0, e.detail);
    }
  }

  private onBlock(payload: Uint8Array, now: number): void {
    const t = this.installer.transfer;
    let index = -1;
    let length = 0;
    try {
      const b = decodeBlock(payload);
      if (!t || !equalBytes(b.id, t.id.subarray(0, ID_LENGTH))) {
        this.event({ type: 'ignored', detail: 'block for a package not being received' });
        return;
      }
      index = b.index;
      length = b.data.length;
      if (!this.installer.missing().includes(index)) {
        this.duplicates++;
        return;
      }
      this.asked.delete(index);
      const complete = this.installer.writeBlock(index, b.data);
      this.lastAsk = now; // blocks are flowing: a slow link is not silence
      if (complete) return this.install();
      const done = t.blocks - this.installer.missing().length;
      // Ask for more at half a window, so blocks keep flowing while the rest are in flight.
      if (this.asked.size <= this.window >> 1) {
        this.event({ type: 'progress', done, total: t.blocks });
        // The request first: the pusher answers it at once, and that answer carries the TCP ACK
        // a broker with Nagle on waits for before it forwards the next small message. A status
        // first would hold the request behind the pusher's delayed ACK (~40 ms per refill).
        this.request(now);
        this.status('receiving', 0, undefined, undefined, undefined, 0);
      }
    } catch (e) {
      if (!(e instanceof OtaError)) throw e;
      if (e.reason === 'chunk' || e.reason === 'cbor' || e.reason === 'envelope') {
        // A damaged or forged block is dropped unwritten; no longer counted as asked, the next
        // refill asks for it again, a bounded number of times.
        this.event({ type: 'ignored', detail: `block ${index}: ${e.message}` });
        if (t && index >= 0 && this.installer.transfer === t) this.blockFailed(t, index, length, e);
        return;
      }
      this.fail(e, t?.id);
    }
  }

  private blockFailed(t: Transfer, index: number, length: number, e: OtaError): void {
    const n = (this.blockFailures.get(index) ?? 0) + 1;
    this.blockFailures.set(index, n);
    if (n < this.maxBlockFailures) return;
    // A block of the wrong length means the package's image is shorter or longer than signed.
    const want = index < t.blocks ? Math.min(t.blockSize, t.manifest.size - index * t.blockSize) : length;
    const reason: OtaReason = length < want ? 'truncated' : length > want ? 'trailing' : e.reason;
    this.fail(new OtaError(reason, `block ${index} failed its check ${n} times, transfer abandoned: ${e.detail}`), t.id, t.manifest.seq);
  }

  private install(): void {
    const t = this.installer.transfer!;
    this.status('installing', 0);
    try {
      this.installer.finish();
    } catch (e) {
      if (!(e instanceof OtaError)) throw e;
      return this.fail(e, t.id, t.manifest.seq);
    }
    this.event({ type: 'installed', seq: t.manifest.seq });
    this.status('rebooting', 0);
    this.out.reboot = true;
  }

  private fail(e: OtaError, id: Uint8Array | undefined, seq = this.installer.transfer?.manifest.seq ?? 0): void {
    // The slot was never completed, so it is not bootable; the record is cleared, so a new offer
    // (even of the same seq) starts afresh instead of meeting `busy`.
    this.installer.cancel();
    this.blockFailures.clear();
    this.asked.clear();
    this.event({ type: 'failed', reason: e.reason, detail: e.detail });
    this.status('failed', reasonCode(e.reason), id?.subarray(0, ID_LENGTH), seq, e.detail);
  }

  private request(now: number): void {
    const t = this.installer.transfer;
    if (!t) return;
    const missing = this.installer.missing();
    if (missing.length === 0) return this.install();
    const fresh = missing.filter((i) => !this.asked.has(i));
    if (fresh.length === 0) return;
    const first = fresh[0];
    const want = fresh.filter((i) => i < first + MAX_BITMAP * 8).slice(0, this.window - this.asked.size);
    if (want.length === 0) return;
    for (const i of want) this.asked.add(i);
    this.lastAsk = now;
    this.publish(OTA_TOPICS.request, encodeRequest(requestFor(t.id.subarray(0, ID_LENGTH), want)), 0, false);
  }

  private status(state: TransferState, reason: number, id?: Uint8Array, seq?: number, detail?: string, qos: 0 | 1 = 1): void {
    const t = this.installer.transfer;
    const s: TransferStatus = {
      id: id ?? t?.id.subarray(0, ID_LENGTH),
      state,
      reason,
      done: t ? t.blocks - this.installer.missing().length : 0,
      total: t ? t.blocks : 0,
      seq: seq ?? t?.manifest.seq ?? this.selfTestSeq,
      detail,
    };
    this.publish(OTA_TOPICS.status, encodeStatus(s), qos, qos === 1);
  }

  private publish(sub: string, payload: Uint8Array, qos: 0 | 1, retain: boolean): void {
    this.out.publish.push({ topic: this.topics.ota(this.id, sub), payload, qos, retain });
  }

  private event(e: AgentEvent): void {
    this.out.events.push(e);
  }

  private flush(now: number): AgentOutput {
    const o = this.out;
    const deadlines: number[] = [];
    if (this.installer.state === 'receiving') deadlines.push(this.lastAsk + this.retryMs);
    if (this.selfTestDeadline !== undefined) deadlines.push(this.selfTestDeadline);
    o.deadline = deadlines.length ? Math.max(now, Math.min(...deadlines)) : undefined;
    this.out = { publish: [], events: [], reboot: false, deadline: undefined };
    return o;
  }
}
