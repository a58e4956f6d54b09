// The device application: samples the sensors on an interval and publishes one CBOR telemetry
// sample per interval, publishes motion edges at once, keeps the retained online status and the
// last will, and obeys commands. It reaches hardware, network, clock and storage only through the
// injected DevicePlatform, which is why the simulator runs this very code.
import { decodeCommand, type Command } from '../../protocol/commands';
import { Outbox } from '../../protocol/session/outbox';
import { Session, type SessionEvent, type SessionState } from '../../protocol/session/session';
import type { TelemetryRecord } from '../../protocol/telemetry-schema';
import { encodeHealth, encodeInfo, type DeviceHealth, type ResetReason } from '../../protocol/info';
import { Topics } from '../../protocol/topics';
import { utf8Encode } from '../../protocol/utf8';
import type { DeviceConfig } from '../config';
import type { DevicePlatform, LinkState, TimerHandle } from '../platform/types';
import { DeviceOta, type DeviceOtaOptions } from './device-ota';
import { SequenceCounter } from './sequence';
import { SessionLink } from './session-link';
import type { AgentEvent } from '../../protocol/ota/agent';
import { anyReading, type AppContext, type DeviceAppDefinition } from './app-definition';

export interface DeviceStats {
  link: LinkState;
  session: SessionState;
  samples: number;
  /** App events published (motion edges for the sensor-node). */
  events: number;
  delivered: number;
  dropped: number;
  commands: number;
  /** Bad commands, samples that failed to encode, protocol errors from the broker. */
  errors: number;
  intervalMs: number;
}

export type DeviceAppEvent =
  | { type: 'link'; state: LinkState; detail: string }
  | { type: 'session'; event: SessionEvent }
  | { type: 'sample'; sample: TelemetryRecord }
  | { type: 'command'; command: Command }
  | { type: 'error'; message: string }
  | { type: 'ota'; event: AgentEvent }
  | { type: 'stopped' };

export interface DeviceAppOptions {
  platform: DevicePlatform;
  config: DeviceConfig;
  /** The app: its telemetry, its sensors, its hooks. */
  app: DeviceAppDefinition;
  /** Observes what the app does (the simulator's view, logs). */
  onEvent?: (e: DeviceAppEvent) => void;
  /** Signed OTA updates over MQTT; absent: the device takes no updates. */
  ota?: DeviceOtaOptions;
}

/** Storage key the set-interval command persists, the same key config overrides read. */
const INTERVAL_KEY = 'intervalMs';

export class DeviceApp {
  readonly topics: Topics;
  readonly session: Session;
  private readonly platform: DevicePlatform;
  private readonly app: DeviceAppDefinition;
  private readonly context: AppContext;
  private readonly config: DeviceConfig;
  private readonly link: SessionLink;
  private readonly sampleSeq: SequenceCounter;
  private readonly eventSeq: SequenceCounter;
  private readonly onEvent: (e: DeviceAppEvent) => void;
  private sampleTimer: TimerHandle | undefined;
  private nextSampleAt = 0;
  private onStopped: (() => void) | undefined;
  private rebootAfterStop = false;
  private rebootReason = 'reboot command';
  private readonly stats: DeviceStats;
  private readonly ota: DeviceOta | undefined;
  private healthTimer: TimerHandle | undefined;
  /** Built once: a sample is published every interval for the life of the device. */
  private readonly telemetryTopic: string;
  private readonly telemetryOptions: { qos: 0 | 1 | 2 };
  /** Clock time of start(): uptime counts from there (the constructor must not need the clock). */
  private startedAt = 0;

  constructor(options: DeviceAppOptions) {
    const { platform, config } = options;
    this.platform = platform;
    this.config = config;
    this.app = options.app;
    this.context = {
      config,
      clock: platform.clock,
      log: (level, message) => platform.log(level, message),
      publishEvent: (name, payload) => this.publishEvent(name, payload),
      nextEventSeq: () => this.eventSeq.take(),
      sampleNow: () => this.sampleNow(),
    };
    this.onEvent = options.onEvent ?? (() => {});
    this.topics = new Topics(config.topicPrefix);
    this.telemetryTopic = this.topics.telemetry(config.deviceId);
    this.telemetryOptions = { qos: config.qos };
    this.sampleSeq = new SequenceCounter(platform.storage, 'seq');
    this.eventSeq = new SequenceCounter(platform.storage, 'eventSeq');
    this.session = new Session({
      clientId: config.deviceId,
      // A persistent session keeps QoS 1/2 state and the command subscription across drops.
      cleanSession: false,
      keepalive: config.keepalive,
      username: config.broker.username,
      password: config.broker.password === undefined ? undefined : utf8Encode(config.broker.password),
      status: { topic: this.topics.status(config.deviceId), qos: 1 },
      outbox: new Outbox({ maxMessages: config.outboxLimit, maxBytes: platform.outboxMaxBytes, store: platform.outboxStore }),
      random: () => platform.random(),
      maxPacketSize: config.maxPacketSize,
    });
    this.link = new SessionLink(this.session, config.broker, platform, (e) => this.onSessionEvent(e));
    this.ota =
      options.ota &&
      new DeviceOta(options.ota, config.deviceId, this.topics, {
        clock: platform.clock,
        publish: (topic, payload, qos, retain) => {
          this.session.publish(topic, payload, { qos, retain }, this.link.now());
          this.link.flush();
        },
        reboot: (reason) => {
          this.rebootAfterStop = true;
          this.rebootReason = reason;
          this.stop();
        },
        onEvent: (event) => this.emit({ type: 'ota', event }),
      });
    this.stats = {
      link: 'down', session: 'idle', samples: 0, events: 0, delivered: 0, dropped: 0, commands: 0, errors: 0,
      intervalMs: config.intervalMs,
    };
  }

  get status(): Readonly<DeviceStats> {
    this.stats.session = this.session.state;
    return this.stats;
  }

  start(): void {
    const { platform, config } = this;
    this.startedAt = platform.clock.now();
    this.session.subscribe([{ topic: this.topics.commands(config.deviceId), qos: 1 }, ...(this.ota?.subscriptions() ?? []).map((topic) => ({ topic, qos: 1 as const }))]);
    this.app.start?.(this.context);
    platform.network.start((state, detail) => {
      this.stats.link = state;
      this.emit({ type: 'link', state, detail });
      this.link.setLink(state === 'up');
    });
    this.link.start();
    this.ota?.start();
    this.nextSampleAt = platform.clock.now() + this.stats.intervalMs;
    this.armSampleTimer();
    this.armHealthTimer();
  }

  /** Clean stop: "offline", in-flight messages drained, DISCONNECT. `done` runs once closed. */
  stop(done?: () => void): void {
    this.onStopped = done;
    this.cancelSampleTimer();
    this.cancelHealthTimer();
    this.session.disconnect(this.link.now());
    this.link.flush();
    if (this.session.state === 'closed') this.finishStop();
  }

  /** Takes and publishes one sample now, outside the interval. */
  sampleNow(): void {
    const { platform, config, app } = this;
    const seq = this.sampleSeq.take();
    const ts = platform.clock.unixTime();
    let payload: Uint8Array;
    let sample: TelemetryRecord;
    try {
      const values = app.read();
      payload = app.telemetry.encode(seq, ts, values);
      sample = { seq, ts };
      for (const f of app.telemetry.declaration.fields) {
        const v = values[f.name];
        sample[f.name] = typeof v === 'number' && Number.isNaN(v) ? null : (v ?? null);
      }
    } catch (err) {
      this.fail(`sample ${seq} not sent: ${(err as Error).message}`);
      return;
    }
    // Reported before it is handed to the session: an observer of both (the simulator) must hear
    // of a sample before it can possibly arrive at the broker.
    this.stats.samples++;
    this.emit({ type: 'sample', sample });
    this.session.publish(this.telemetryTopic, payload, this.telemetryOptions, this.link.now());
    this.link.flush();
    if (this.ota) {
      const verdict = app.selfTest ? app.selfTest(sample) : anyReading(app.telemetry, sample);
      if (verdict === true) this.ota.onGoodReading();
      else if (verdict === false) this.ota.failSelfTest();
    }
    try {
      app.onSample?.(sample, this.context);
    } catch (err) {
      this.fail(`app onSample: ${(err as Error).message}`);
    }
  }

  private publishEvent(name: string, payload: Uint8Array): void {
    if (this.session.state === 'closed' || this.session.state === 'closing') return;
    this.session.publish(this.topics.event(this.config.deviceId, name), payload, { qos: 1 }, this.link.now());
    this.link.flush();
    this.stats.events++;
  }

  private onSessionEvent(e: SessionEvent): void {
    switch (e.type) {
      case 'message':
        if (e.topic === this.topics.commands(this.config.deviceId)) this.onCommand(e.payload);
        else if (this.ota?.handles(e.topic)) this.ota.onMessage(e.topic, e.payload);
        break;
      case 'connected':
        this.publishInfo();
        this.ota?.onConnected();
        break;
      case 'connection-lost':
        this.ota?.onDisconnected();
        break;
      case 'delivered':
        this.stats.delivered++;
        break;
      case 'dropped':
        this.stats.dropped++;
        break;
      case 'protocol-error':
        this.stats.errors++;
        break;
      case 'closed':
        this.finishStop();
        break;
    }
    this.emit({ type: 'session', event: e });
  }

  private onCommand(payload: Uint8Array): void {
    let command: Command;
    try {
      command = decodeCommand(payload);
    } catch (err) {
      this.fail(`command refused: ${(err as Error).message}`);
      return;
    }
    this.stats.commands++;
    this.emit({ type: 'command', command });
    switch (command.kind) {
      case 'set-interval':
        this.stats.intervalMs = command.ms;
        this.platform.storage.set(INTERVAL_KEY, command.ms);
        this.nextSampleAt = this.platform.clock.now() + command.ms;
        this.armSampleTimer();
        break;
      case 'sample-now':
        this.sampleNow();
        break;
      case 'reboot':
        this.rebootAfterStop = true;
        this.rebootReason = 'reboot command';
        this.stop();
        break;
      default:
        if (!this.app.onCommand) {
          this.fail(`command ${command.kind} refused: this app has no outputs`);
          return;
        }
        try {
          this.app.onCommand(command, this.context);
        } catch (err) {
          this.fail(`command ${command.kind} refused: ${(err as Error).message}`);
        }
    }
  }

  /** What the platform can measure now, with the app's own counters. */
  health(): DeviceHealth & { resetReason?: ResetReason } {
    const p = this.platform.health?.() ?? {};
    return {
      uptime: Math.min(0xffffffff, Math.floor((this.platform.clock.now() - this.startedAt) / 1000)),
      ...(p.freeHeap === undefined ? {} : { freeHeap: p.freeHeap }),
      ...(p.rssi === undefined ? {} : { rssi: p.rssi }),
      ...(p.resetReason === undefined ? {} : { resetReason: p.resetReason }),
      outboxDepth: this.session.outbox.length + this.session.inflightCount,
      dropped: this.stats.dropped,
      ts: this.platform.clock.unixTime(),
      intervalMs: this.stats.intervalMs,
    };
  }

  /** Retained on every connect: a fleet view learns version and boot cause without asking. */
  private publishInfo(): void {
    this.publishRecord('info', this.topics.info(this.config.deviceId), 1, () =>
      encodeInfo({ ...this.health(), firmwareVersion: this.config.firmwareVersion, otaSeq: this.ota?.installer.installedSeq ?? 0, schema: this.app.telemetry.id }),
    );
  }

  /**
   * Only while connected: a health record is stale by the next one, so none is queued while
   * offline. QoS 1, not 0: with QoS 0 health a partitioned device's will came late in the
   * mosquitto partition scenario (test/sim-scenarios.test.ts, "offline within 40 s"); why QoS 0
   * traffic delays the loss is for the session's keepalive to answer (reported, not fixed here).
   */
  private publishHealth(): void {
    if (this.session.state !== 'connected') return;
    this.publishRecord('health', this.topics.health(this.config.deviceId), 1, () => encodeHealth(this.health()));
  }

  /** Retained; a record that fails to encode is counted and logged, never thrown at a timer. */
  private publishRecord(what: string, topic: string, qos: 0 | 1, make: () => Uint8Array): void {
    let payload: Uint8Array;
    try {
      payload = make();
    } catch (err) {
      this.fail(`${what} not sent: ${(err as Error).message}`);
      return;
    }
    this.session.publish(topic, payload, { qos, retain: true }, this.link.now());
    this.link.flush();
  }

  private armHealthTimer(): void {
    this.cancelHealthTimer();
    this.healthTimer = this.platform.clock.setTimer(() => {
      this.healthTimer = undefined;
      this.publishHealth();
      this.armHealthTimer();
    }, this.config.healthIntervalMs);
  }

  private cancelHealthTimer(): void {
    if (this.healthTimer !== undefined) this.platform.clock.clearTimer(this.healthTimer);
    this.healthTimer = undefined;
  }

  private armSampleTimer(): void {
    this.cancelSampleTimer();
    const clock = this.platform.clock;
    this.sampleTimer = clock.setTimer(() => {
      this.sampleTimer = undefined;
      // Scheduled from the due time, not from now, so the cadence does not drift with latency.
      const now = clock.now();
      this.nextSampleAt = Math.max(this.nextSampleAt + this.stats.intervalMs, now + 1);
      this.sampleNow();
      this.armSampleTimer();
    }, Math.max(0, this.nextSampleAt - clock.now()));
  }

  private cancelSampleTimer(): void {
    if (this.sampleTimer !== undefined) this.platform.clock.clearTimer(this.sampleTimer);
    this.sampleTimer = undefined;
  }

  private finishStop(): void {
    this.cancelSampleTimer();
    this.cancelHealthTimer();
    this.ota?.stop();
    this.app.stop?.();
    this.link.halt();
    this.platform.network.stop();
    const done = this.onStopped;
    this.onStopped = undefined;
    this.emit({ type: 'stopped' });
    done?.();
    if (this.rebootAfterStop) this.platform.restart(this.rebootReason);
  }

  private fail(message: string): void {
    this.stats.errors++;
    this.platform.log('warn', message);
    this.emit({ type: 'error', message });
  }

  private emit(e: DeviceAppEvent): void {
    this.onEvent(e);
  }
}
