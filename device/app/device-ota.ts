// Over-the-air updates inside the device app: the protocol's OtaAgent and OtaInstaller, wired to
// the app's MQTT session, its timers and its self-test. The self-test after an update is the
// app's own health: MQTT connected and one good sensor reading, within the agent's deadline
// (default 120 s); only then is the new image confirmed and its sequence number stored.
import { OtaAgent, type AgentEvent, type AgentOutput } from '../../protocol/ota/agent';
import { OtaInstaller, type OtaFlash, type OtaRecordStore } from '../../protocol/ota/installer';
import type { DeviceContext } from '../../protocol/ota/policy';
import { parseTrustStore, type TrustStore } from '../../protocol/ota/trust';
import { idBytes } from '../../protocol/ota/ids';
import type { SignatureVerifier } from '../../protocol/ota/verifier';
import type { HashFactory } from '../../protocol/ota/chunks';
import type { Topics } from '../../protocol/topics';
import type { DeviceClock, TimerHandle } from '../platform/types';

export interface DeviceOtaOptions {
  flash: OtaFlash;
  store: OtaRecordStore;
  trust: TrustStore;
  verifier: SignatureVerifier;
  /** The platform's SHA-256 (canopy/crypto); default the pure-TS reference. */
  hash?: HashFactory;
  /** vendor, class and the chip facts the policy checks. */
  identity: Omit<DeviceContext, 'installedSeq' | 'now' | 'partitionSize' | 'deviceId'>;
  selfTestMs?: number;
  /** Blocks asked for at once, and how long before asking again (the agent's defaults otherwise). */
  window?: number;
  retryMs?: number;
}

/**
 * OTA options from a device's config: `otaVendor` and `otaClass` (names or UUIDs, as given to
 * `canopy ota pack`), `otaChipId` (default 0, ESP32) and `otaSelfTestMs`; `trust` is the trust
 * store the firmware was built with. Undefined when the config names no vendor: no OTA.
 */
export function otaOptionsFromConfig(
  config: { get(key: string): unknown },
  parts: { flash: OtaFlash; store: OtaRecordStore; verifier: SignatureVerifier; hash?: HashFactory; trust: unknown },
): DeviceOtaOptions | undefined {
  const vendor = config.get('otaVendor');
  const cls = config.get('otaClass');
  if (vendor === undefined && cls === undefined) return undefined;
  if (typeof vendor !== 'string' || typeof cls !== 'string') throw new Error('otaVendor and otaClass must both be set, as names or UUIDs');
  const chipId = config.get('otaChipId');
  const selfTestMs = config.get('otaSelfTestMs');
  return {
    flash: parts.flash,
    store: parts.store,
    verifier: parts.verifier,
    hash: parts.hash,
    trust: parseTrustStore(parts.trust),
    identity: { vendor: idBytes(vendor), class: idBytes(cls), chipId: typeof chipId === 'number' ? chipId : 0 },
    selfTestMs: typeof selfTestMs === 'number' ? selfTestMs : undefined,
  };
}

export interface OtaHost {
  clock: DeviceClock;
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, retain: boolean): void;
  /** Reboot once what was published is out (the app disconnects cleanly first). */
  reboot(reason: string): void;
  onEvent(e: AgentEvent): void;
}

export class DeviceOta {
  readonly agent: OtaAgent;
  readonly installer: OtaInstaller;
  private readonly topics: Set<string>;
  private timer: TimerHandle | undefined;
  private selfTestPending = false;
  private connected = false;
  private goodReading = false;

  constructor(
    options: DeviceOtaOptions,
    deviceId: string,
    topics: Topics,
    private readonly host: OtaHost,
  ) {
    this.installer = new OtaInstaller({ flash: options.flash, store: options.store, trust: options.trust, verifier: options.verifier, hash: options.hash, device: { ...options.identity, deviceId } });
    this.agent = new OtaAgent({
      installer: this.installer,
      deviceId,
      topics,
      selfTestMs: options.selfTestMs,
      window: options.window,
      retryMs: options.retryMs,
      epochSeconds: () => host.clock.unixTime() || undefined,
    });
    this.topics = new Set(this.agent.subscriptions());
  }

  subscriptions(): string[] {
    return [...this.topics];
  }

  handles(topic: string): boolean {
    return this.topics.has(topic);
  }

  start(): void {
    this.apply(this.agent.start(this.host.clock.now()));
  }

  onConnected(): void {
    this.connected = true;
    this.apply(this.agent.connected(this.host.clock.now()));
    this.checkSelfTest();
  }

  onDisconnected(): void {
    this.connected = false;
  }

  onMessage(topic: string, payload: Uint8Array): void {
    this.apply(this.agent.message(topic, payload, this.host.clock.now()));
  }

  /** A sensor gave a real value: half of the default self-test. */
  onGoodReading(): void {
    this.goodReading = true;
    this.checkSelfTest();
  }

  /** The app's own check found the new image broken: roll back now rather than at the deadline. */
  failSelfTest(): void {
    if (!this.selfTestPending) return;
    this.selfTestPending = false;
    this.apply(this.agent.selfTest(false, this.host.clock.now()));
  }

  stop(): void {
    if (this.timer !== undefined) this.host.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private checkSelfTest(): void {
    if (!this.selfTestPending || !this.connected || !this.goodReading) return;
    this.selfTestPending = false;
    this.apply(this.agent.selfTest(true, this.host.clock.now()));
  }

  private apply(out: AgentOutput): void {
    for (const p of out.publish) this.host.publish(p.topic, p.payload, p.qos, p.retain);
    for (const e of out.events) {
      this.host.onEvent(e);
      if (e.type === 'self-test') {
        this.selfTestPending = true;
        // Readings from before the reboot into this image do not count.
        this.goodReading = false;
      }
    }
    this.stop();
    if (out.reboot) {
      this.host.reboot('OTA update');
      return;
    }
    if (out.deadline !== undefined) {
      const clock = this.host.clock;
      this.timer = clock.setTimer(() => {
        this.timer = undefined;
        this.apply(this.agent.tick(clock.now()));
      }, Math.max(0, out.deadline - clock.now()));
    }
    this.checkSelfTest();
  }
}
