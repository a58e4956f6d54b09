// A bare OTA test device (no DeviceApp): the protocol Session over host/transport's
// SessionDriver, the OtaAgent and OtaInstaller over sim/virtual-flash, with knobs the protocol
// tests need (a hanging or failing self-test, the request window). The device app's own wiring
// is device/app/device-ota.ts, tested end to end in test/sim-ota.test.ts.
import { Session } from '../protocol/session/session.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import { OtaAgent, type AgentEvent, type AgentOutput } from '../protocol/ota/agent.ts';
import { OtaInstaller } from '../protocol/ota/installer.ts';
import type { TrustStore } from '../protocol/ota/trust.ts';
import { pureVerifier, type SignatureVerifier } from '../protocol/ota/verifier.ts';
import type { DeviceContext } from '../protocol/ota/policy.ts';
import { SessionDriver } from '../host/transport.ts';
import { MemoryRecordStore, VirtualFlash } from './virtual-flash.ts';

export interface OtaTestDeviceOptions {
  id: string;
  broker: string;
  trust: TrustStore;
  identity: Omit<DeviceContext, 'installedSeq' | 'now' | 'partitionSize'>;
  verifier?: SignatureVerifier;
  /** Decides the self-test once the updated image runs; default passes. */
  selfTest?: () => boolean;
  /** The new image never answers its self-test (the agent's deadline rolls it back). */
  hangSelfTest?: boolean;
  selfTestMs?: number;
  window?: number;
}

export class OtaTestDevice {
  readonly flash = new VirtualFlash();
  readonly store = new MemoryRecordStore();
  readonly events: AgentEvent[] = [];
  agent!: OtaAgent;
  installer!: OtaInstaller;
  driver: SessionDriver | undefined;
  boots = 0;
  private bootWaiters: { n: number; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private dead = false;
  /** Resolves once the agent's topics are subscribed (the first time). */
  ready!: Promise<void>;
  /** Called for every agent event, e.g. to cut the power at a chosen moment. */
  onEvent: ((e: AgentEvent, d: OtaTestDevice) => void) | undefined;

  constructor(readonly o: OtaTestDeviceOptions) {}

  /** Power on: bootloader, installer record, agent, MQTT. */
  boot(): this {
    this.dead = false;
    this.boots++;
    this.bootWaiters = this.bootWaiters.filter((w) => (this.boots >= w.n ? (w.resolve(), false) : true));
    this.installer = new OtaInstaller({ flash: this.flash, store: this.store, trust: this.o.trust, verifier: this.o.verifier ?? pureVerifier, device: { ...this.o.identity, deviceId: this.o.id } });
    this.agent = new OtaAgent({ installer: this.installer, deviceId: this.o.id, selfTestMs: this.o.selfTestMs, window: this.o.window, retryMs: 500 });
    const session = new Session({ clientId: `dev-${this.o.id}`, cleanSession: false, keepalive: 30, backoff: { baseMs: 20, capMs: 100 } });
    const driver = new SessionDriver(session, this.o.broker);
    this.driver = driver;
    this.ready = new Promise((r) => driver.once('subscribed', () => r()));
    driver.on('event', (e: SessionEvent) => {
      if (this.dead || this.driver !== driver) return;
      const now = performance.now();
      if (e.type === 'connected') {
        driver.subscribe(this.agent.subscriptions().map((topic) => ({ topic, qos: 1 as const })));
        this.apply(this.agent.connected(now));
      } else if (e.type === 'message') this.apply(this.agent.message(e.topic, e.payload, now));
    });
    driver.start();
    this.apply(this.agent.start(performance.now()));
    return this;
  }

  /** Resolves once the device has booted `n` times in all (a reboot into or out of an update). */
  untilBoots(n: number): Promise<void> {
    if (this.boots >= n) return Promise.resolve();
    return new Promise((resolve) => this.bootWaiters.push({ n, resolve }));
  }

  /** Pull the plug: no DISCONNECT, no more timers; flash keeps what was written. */
  powerOff(): void {
    this.dead = true;
    clearTimeout(this.timer);
    this.driver?.kill();
    this.driver = undefined;
  }

  reboot(): void {
    this.powerOff();
    this.flash.reboot();
    this.boot();
  }

  async stop(): Promise<void> {
    this.dead = true;
    clearTimeout(this.timer);
    await this.driver?.stop();
  }

  private apply(out: AgentOutput): void {
    if (this.dead) return;
    for (const p of out.publish) this.driver?.publish(p.topic, p.payload, { qos: p.qos, retain: p.retain });
    for (const e of out.events) {
      this.events.push(e);
      this.onEvent?.(e, this);
      if (this.dead) return;
      if (e.type === 'self-test' && !this.o.hangSelfTest) {
        const passed = (this.o.selfTest ?? (() => true))();
        queueMicrotask(() => this.apply(this.agent.selfTest(passed, performance.now())));
      }
    }
    if (out.reboot) {
      // Let the last status reach the broker first, as the device app would.
      setTimeout(() => !this.dead && this.reboot(), 30);
      return;
    }
    clearTimeout(this.timer);
    if (out.deadline !== undefined) {
      this.timer = setTimeout(() => this.apply(this.agent.tick(performance.now())), Math.max(0, out.deadline - performance.now()));
    }
  }
}
