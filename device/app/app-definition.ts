// What an app built on the SDK supplies to DeviceApp: its telemetry declaration, a function that
// reads its fields, and optional hooks (start, after each sample, its commands, its OTA self-test).
// DeviceApp owns the session, the outbox, the schedule, OTA and the built-in commands; the app
// owns its sensors, outputs and rules. device/sensor-node/app.ts and examples/greenhouse are two.
import type { Command } from '../../protocol/commands';
import type { Telemetry, TelemetryRecord, TelemetryValues } from '../../protocol/telemetry-schema';
import type { DeviceConfig } from '../config';
import type { DeviceClock, LogLevel } from '../platform/types';

export interface AppContext {
  readonly config: DeviceConfig;
  readonly clock: DeviceClock;
  log(level: LogLevel, message: string): void;
  /** Publishes on <prefix>/<id>/events/<name>, QoS 1; nothing while the device is stopping. */
  publishEvent(name: string, payload: Uint8Array): void;
  /** The next event sequence number (persisted, never repeats across reboots). */
  nextEventSeq(): number;
  /** Takes and publishes a sample now (an output changed: report it at once). */
  sampleNow(): void;
}

/** Commands DeviceApp leaves to the app (every one but set-interval, sample-now and reboot). */
export type AppCommand = Exclude<Command, { kind: 'set-interval' } | { kind: 'sample-now' } | { kind: 'reboot' }>;

export interface DeviceAppDefinition {
  /** The fields of every sample (protocol/telemetry-schema.ts). */
  telemetry: Telemetry;
  /** The current value of each declared field (null or NaN: no reading, for a nullable field). */
  read(): TelemetryValues;
  /** Once, when the device starts (subscribe to sensor edges, set outputs to their boot state). */
  start?(ctx: AppContext): void;
  /** After each sample is taken (edge rules: drive an output on a condition). */
  onSample?(record: TelemetryRecord, ctx: AppContext): void;
  /** An app command; throw an Error to refuse it (counted and logged as a bad command). */
  onCommand?(command: AppCommand, ctx: AppContext): void;
  /**
   * The OTA self-test after an update, asked after each sample until it answers: true passes (with
   * the broker connected), false rolls back now, undefined: not decided yet (the agent's deadline
   * rolls back if it never is). Default: passes once any nullable field has a value.
   */
  selfTest?(record: TelemetryRecord): boolean | undefined;
  /** The device is stopping: release pins and timers. */
  stop?(): void;
}

/** The default self-test: a sensor gave a real value. */
export function anyReading(telemetry: Telemetry, record: TelemetryRecord): boolean | undefined {
  for (const f of telemetry.declaration.fields) if (f.nullable && record[f.name] !== null) return true;
  return undefined;
}
