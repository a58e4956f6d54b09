// A push in virtual time: the sans-I/O Pusher and sans-I/O OtaAgents (over virtual flash) joined
// by an in-memory message net with a fixed latency. No sockets, no timers: `run` jumps from one
// delivery or deadline to the next, so a 60 s idle timeout or a fault window costs microseconds and
// lands at an exact virtual time. Faults are windows on that clock (`cut`), or callbacks on agent
// events (`onEvent`, e.g. a power cut after the n-th progress report).
import { OtaAgent, type AgentEvent, type AgentOptions, type AgentOutput } from '../../protocol/ota/agent.ts';
import { OtaInstaller } from '../../protocol/ota/installer.ts';
import { Topics } from '../../protocol/topics.ts';
import type { TrustStore } from '../../protocol/ota/trust.ts';
import type { DeviceContext } from '../../protocol/ota/policy.ts';
import { pureVerifier, type SignatureVerifier } from '../../protocol/ota/verifier.ts';
import { Pusher, type DeviceResult, type PusherOptions, type PusherOutput } from '../../ota/pusher.ts';
import { MemoryRecordStore, VirtualFlash } from '../../sim/virtual-flash.ts';

export interface VirtualDeviceOptions {
  trust: TrustStore;
  identity: Omit<DeviceContext, 'installedSeq' | 'now' | 'partitionSize' | 'deviceId'>;
  verifier?: SignatureVerifier;
  agent?: Partial<Omit<AgentOptions, 'installer' | 'deviceId'>>;
  /** The self-test verdict on the updated image; default passes. */
  selfTest?: () => boolean;
}

export class VirtualDevice {
  readonly flash = new VirtualFlash();
  readonly store = new MemoryRecordStore();
  readonly events: AgentEvent[] = [];
  agent!: OtaAgent;
  installer!: OtaInstaller;
  boots = 0;
  online = true;
  deadline: number | undefined;

  constructor(
    readonly id: string,
    private readonly net: VirtualNet,
    private readonly o: VirtualDeviceOptions,
  ) {}

  boot(): void {
    this.boots++;
    this.online = true;
    this.installer = new OtaInstaller({ flash: this.flash, store: this.store, trust: this.o.trust, verifier: this.o.verifier ?? pureVerifier, device: { ...this.o.identity, deviceId: this.id } });
    this.agent = new OtaAgent({ retryMs: 2000, ...this.o.agent, installer: this.installer, deviceId: this.id, topics: this.net.topics });
    this.apply(this.agent.start(this.net.now));
    this.apply(this.agent.connected(this.net.now));
  }

  /** Power cut: whatever is in flight to the device is lost; flash keeps what was written. */
  powerCycle(): void {
    this.online = false;
    this.deadline = undefined;
    this.flash.reboot();
    this.boot();
  }

  apply(out: AgentOutput): void {
    for (const p of out.publish) this.net.send(this.id, 'pusher', p.topic, p.payload);
    for (const e of out.events) {
      this.events.push(e);
      this.net.onEvent?.(e, this);
      if (e.type === 'self-test') this.apply(this.agent.selfTest((this.o.selfTest ?? (() => true))(), this.net.now));
    }
    if (out.reboot) {
      this.net.after(1, () => this.powerCycle());
      return;
    }
    this.deadline = out.deadline;
  }
}

export class VirtualNet {
  now = 0;
  readonly topics = new Topics();
  readonly devices = new Map<string, VirtualDevice>();
  pusher: Pusher | undefined;
  /** Called for every agent event. */
  onEvent: ((e: AgentEvent, d: VirtualDevice) => void) | undefined;
  /** Messages sent, by direction, for assertions. */
  readonly sent = { toPusher: 0, toDevices: 0 };
  private pusherDeadline: number | undefined;
  private readonly queue: { at: number; seq: number; run: () => void }[] = [];
  private seq = 0;
  private cuts: { from: number; to: number }[] = [];

  constructor(private readonly latencyMs = 1) {}

  device(id: string, o: VirtualDeviceOptions): VirtualDevice {
    const d = new VirtualDevice(id, this, o);
    this.devices.set(id, d);
    d.boot();
    return d;
  }

  /** The link between the pusher and every device drops each message sent in [from, to). */
  cut(from: number, to: number): void {
    this.cuts.push({ from, to });
  }

  after(ms: number, run: () => void): void {
    this.queue.push({ at: this.now + ms, seq: this.seq++, run });
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  send(from: string, to: string, topic: string, payload: Uint8Array): void {
    if (this.cuts.some((c) => this.now >= c.from && this.now < c.to)) return;
    if (to === 'pusher') this.sent.toPusher++;
    else this.sent.toDevices++;
    this.after(this.latencyMs, () => {
      if (to === 'pusher') return this.applyPusher(this.pusher?.message(topic, payload, this.now).drain());
      const d = this.devices.get(to);
      if (d?.online) d.apply(d.agent.message(topic, payload, this.now));
    });
    void from;
  }

  /** Starts a push and runs until every device has a result (or `limitMs` of virtual time). */
  push(pkg: Uint8Array, ids: string[], options: PusherOptions = {}, limitMs = 3_600_000): DeviceResult[] {
    this.pusher = new Pusher(pkg, ids, { topics: this.topics, ...options });
    this.applyPusher(this.pusher.start(this.now).drain());
    this.runUntil(() => this.pusher!.done, limitMs);
    return this.pusher.results() as DeviceResult[];
  }

  /** Advances virtual time, delivering messages and firing deadlines, until `done` or the limit. */
  runUntil(done: () => boolean, limitMs: number): void {
    const end = this.now + limitMs;
    for (let steps = 0; !done(); steps++) {
      if (steps > 2_000_000) throw new Error(`virtual run spins at ${this.now} ms`);
      const next = this.nextAt();
      if (next === undefined || next > end) throw new Error(`virtual run stuck at ${this.now} ms (next ${next})`);
      this.now = Math.max(this.now, next);
      const q = this.queue[0];
      if (q && q.at <= this.now) {
        this.queue.shift();
        q.run();
        continue;
      }
      if (this.pusherDeadline !== undefined && this.pusherDeadline <= this.now) {
        this.pusherDeadline = undefined;
        this.applyPusher(this.pusher!.tick(this.now).drain());
        continue;
      }
      for (const d of this.devices.values()) {
        if (d.deadline !== undefined && d.deadline <= this.now) {
          d.deadline = undefined;
          d.apply(d.agent.tick(this.now));
        }
      }
    }
  }

  private nextAt(): number | undefined {
    const ts = [this.queue[0]?.at, this.pusherDeadline, ...[...this.devices.values()].map((d) => d.deadline)].filter((t): t is number => t !== undefined);
    return ts.length ? Math.min(...ts) : undefined;
  }

  private applyPusher(out: PusherOutput | undefined): void {
    if (!out) return;
    for (const p of out.publish) {
      const t = this.topics.parse(p.topic);
      if (t) this.send('pusher', t.deviceId, p.topic, p.payload);
    }
    this.pusherDeadline = out.done ? undefined : out.deadline;
  }
}
