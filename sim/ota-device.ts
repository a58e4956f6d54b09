// A bare simulated OTA device (no DeviceApp, no sensors) for the OTA tests and the OTA bench: the
// protocol Session over host/transport's SessionDriver, and the firmware's own OTA wiring
// (device/app/device-ota.ts) over sim/virtual-flash, with the knobs those tests need: a failing or
// hanging self-test, the request window. The whole device app, OTA included, is tested end to
// end in test/sim-ota.test.ts.
import { Session } from '../protocol/session/session.ts';
import { MemoryStore, Outbox } from '../protocol/session/outbox.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import type { AgentEvent, OtaAgent } from '../protocol/ota/agent.ts';
import type { OtaInstaller } from '../protocol/ota/installer.ts';
import type { TrustStore } from '../protocol/ota/trust.ts';
import { pureVerifier, type SignatureVerifier } from '../protocol/ota/verifier.ts';
import type { DeviceContext } from '../protocol/ota/policy.ts';
import { Topics } from '../protocol/topics.ts';
import { DeviceOta } from '../device/app/device-ota.ts';
import type { DeviceClock } from '../device/platform/types.ts';
import { SessionDriver } from '../host/transport.ts';
import { MemoryRecordStore, VirtualFlash } from './virtual-flash.ts';

export interface OtaTestDeviceOptions {
  id: string;
  broker: string;
  trust: TrustStore;
  identity: Omit<DeviceContext, 'installedSeq' | 'now' | 'partitionSize'>;
  verifier?: SignatureVerifier;
  /** Decides the self-test once the updated image runs (and MQTT is up); default passes. */
  selfTest?: () => boolean;
  /** The new image never answers its self-test (the agent's deadline rolls it back). */
  hangSelfTest?: boolean;
  selfTestMs?: number;
  window?: number;
}

export class OtaTestDevice {
  readonly flash = new VirtualFlash();
  readonly store = new MemoryRecordStore();
  /** The outbox in flash, as on the firmware: a status queued before a reboot goes out after it. */
  readonly outboxStore = new MemoryStore();
  readonly events: AgentEvent[] = [];
  ota!: DeviceOta;
  driver: SessionDriver | undefined;
  boots = 0;
  /** Bumped at every power-off and reboot: what an earlier life armed or received does nothing. */
  private life = 0;
  private bootWaiters: { n: number; resolve: () => void }[] = [];
  /** Resolves once the agent's topics are subscribed (the first time). */
  ready!: Promise<void>;
  /** Called for every agent event, e.g. to cut the power at a chosen moment. */
  onEvent: ((e: AgentEvent, d: OtaTestDevice) => void) | undefined;

  constructor(readonly o: OtaTestDeviceOptions) {}

  get agent(): OtaAgent {
    return this.ota.agent;
  }

  get installer(): OtaInstaller {
    return this.ota.installer;
  }

  /** Power on: bootloader, installer record, agent, MQTT. */
  boot(): this {
    const life = ++this.life;
    const alive = () => life === this.life;
    this.boots++;
    this.bootWaiters = this.bootWaiters.filter((w) => (this.boots >= w.n ? (w.resolve(), false) : true));
    const session = new Session({ clientId: `dev-${this.o.id}`, cleanSession: false, keepalive: 30, backoff: { baseMs: 20, capMs: 100 }, outbox: new Outbox({ store: this.outboxStore }) });
    const driver = new SessionDriver(session, this.o.broker);
    this.driver = driver;
    const clock: DeviceClock = {
      now: () => performance.now(),
      unixTime: () => 0,
      setTimer: (callback, ms) => (alive() ? setTimeout(() => alive() && callback(), ms) : undefined),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
    };
    const o = this.o;
    const ota = new DeviceOta(
      { flash: this.flash, store: this.store, trust: o.trust, verifier: o.verifier ?? pureVerifier, identity: o.identity, selfTestMs: o.selfTestMs, window: o.window, retryMs: 500 },
      o.id,
      new Topics(),
      {
        clock,
        publish: (topic, payload, qos, retain) => {
          if (alive()) driver.publish(topic, payload, { qos, retain });
        },
        reboot: () => {
          if (alive()) this.restart(driver);
        },
        onEvent: (e) => {
          if (!alive()) return;
          this.events.push(e);
          this.onEvent?.(e, this);
          // After DeviceOta has taken the event in (it resets the self-test then).
          if (e.type === 'self-test' && !o.hangSelfTest) {
            const passed = (o.selfTest ?? (() => true))();
            queueMicrotask(() => alive() && (passed ? ota.onGoodReading() : ota.failSelfTest()));
          }
        },
      },
    );
    this.ota = ota;
    this.ready = new Promise((r) => driver.once('subscribed', () => r()));
    driver.on('event', (e: SessionEvent) => {
      if (!alive()) return;
      if (e.type === 'connected') {
        driver.subscribe(ota.subscriptions().map((topic) => ({ topic, qos: 1 as const })));
        ota.onConnected();
      } else if (e.type === 'connection-lost') ota.onDisconnected();
      else if (e.type === 'message' && ota.handles(e.topic)) ota.onMessage(e.topic, e.payload);
    });
    driver.start();
    ota.start();
    return this;
  }

  /** Resolves once the device has booted `n` times in all (a reboot into or out of an update). */
  untilBoots(n: number): Promise<void> {
    if (this.boots >= n) return Promise.resolve();
    return new Promise((resolve) => this.bootWaiters.push({ n, resolve }));
  }

  /** Pull the plug: no DISCONNECT, no more timers; flash keeps what was written. */
  powerOff(): void {
    this.life++;
    this.ota?.stop();
    this.driver?.kill();
    this.driver = undefined;
  }

  reboot(): void {
    this.powerOff();
    this.flash.reboot();
    this.boot();
  }

  async stop(): Promise<void> {
    this.life++;
    this.ota?.stop();
    await this.driver?.stop();
  }

  /** The agent's reboot: as the device app does, a clean DISCONNECT once the last status is acknowledged, then power-cycle. */
  private restart(driver: SessionDriver): void {
    const life = ++this.life;
    this.ota.stop();
    void driver.stop().then(() => {
      if (life !== this.life) return; // powered off meanwhile
      this.driver = undefined;
      this.flash.reboot();
      this.boot();
    });
  }
}
