// What the simulator needs of a virtual device, whichever engine runs the firmware: the real XS
// engine (sim/xs-device.ts) or V8 (sim/node-device.ts). Both run the same DeviceApp.
import type { OutboundMessage } from '../protocol/session/message.ts';
import type { OutboxStore } from '../protocol/session/outbox.ts';
import { encodeRecord, replayLog } from '../protocol/session/record.ts';
import type { ClimateReading } from '../device/sensor-node/app.ts';
import { MemoryRecordStore, VirtualFlash } from './virtual-flash.ts';
import type { Clock } from '../host/xs/timers.ts';
import type { NetActivity } from '../host/device-socket.ts';

/** Where a simulated device's sensor values come from (sim/models.ts). */
export interface SensorSource {
  climate(): ClimateReading;
  light(): number | null;
  motion(): boolean;
  /** Motion edges the source will produce. */
  onMotion?(listener: (active: boolean) => void): void;
}

/** What the firmware reports to the simulator besides MQTT: produced samples, errors, reboots. */
export type SimDeviceEvent =
  | { type: 'sample'; seq: number; qos: number }
  | { type: 'error'; message: string }
  | { type: 'log'; level: string; message: string }
  | { type: 'restart'; reason: string }
  /** An OTA agent event (offer refused, transfer, installed, self-test, confirmed, rolled back, failed). */
  | { type: 'ota'; event: { type: string; [k: string]: unknown } };

/** What every engine's simulated device is made of. */
export interface SimDeviceOptions {
  /** The manifest-style config the firmware would have compiled in (deviceId, broker, ...). */
  config: Record<string, unknown>;
  clock: Clock;
  sensors: SensorSource;
  /** Seeds the device's PRNG (reconnect jitter). */
  seed?: number;
  /** Unix seconds at clock time 0. */
  epoch?: number;
  /** Settings, outbox and OTA slots that outlive reboots; a fresh one by default. */
  flash?: DeviceFlash;
  /** Samples produced, errors, logs, OTA events and reboots reported by the firmware. */
  onEvent?: (e: SimDeviceEvent) => void;
  /** Where the device's socket traffic counts (the simulator run's, for virtual time). */
  activity?: NetActivity;
}

export interface SimDevice {
  readonly id: string;
  /** NVS settings and the outbox log: what survives a reboot or a power cut. */
  readonly flash: DeviceFlash;
  readonly running: boolean;
  boot(): Promise<void>;
  /** Clean shutdown: "offline", drain, DISCONNECT. */
  stop(timeoutMs?: number): Promise<void>;
  /** Gone at once with no DISCONNECT: the broker fires the will. */
  powerCut(): Promise<void>;
  sampleNow(): Promise<void>;
  stats(): Promise<Record<string, unknown>>;
}

/** A device's persistent storage: settings and the append-only outbox log. */
export class DeviceFlash {
  /** `settings`: NVS; a persistent map when the simulator keeps state across runs (sim/device-state.ts). */
  constructor(readonly settings = new Map<string, string | number | boolean>()) {}

  private otaParts: { flash: VirtualFlash; records: MemoryRecordStore } | undefined;
  private log: Uint8Array[] = [];
  private logBytes = 0;

  appendRecord(record: Uint8Array): void {
    this.log.push(record.slice());
    this.logBytes += record.length;
    if (this.log.length > 256) this.compact();
  }

  readLog(): Uint8Array {
    this.compact();
    return this.log[0] ?? new Uint8Array(0);
  }

  /** The two app slots and the installer's records; made on first use (two 1.9 MB slots each). */
  get ota(): { flash: VirtualFlash; records: MemoryRecordStore } {
    this.otaParts ??= { flash: new VirtualFlash(), records: new MemoryRecordStore() };
    return this.otaParts;
  }

  /** Runs the bootloader's slot choice at power-on, if this device has ever had OTA slots. */
  powerOn(): void {
    this.otaParts?.flash.reboot();
  }

  /** An OutboxStore over this flash, for engines that run the session on the host side of the bridge. */
  outboxStore(): OutboxStore {
    return {
      load: (): OutboundMessage[] => replayLog(this.readLog()).messages,
      put: (message) => this.appendRecord(encodeRecord({ op: 'put', message })),
      delete: (id) => this.appendRecord(encodeRecord({ op: 'delete', id })),
    };
  }

  /** Keeps live records only, as the device's own store does when it compacts. */
  private compact(): void {
    const all = concat(this.log, this.logBytes);
    const live = replayLog(all).messages.map((message) => encodeRecord({ op: 'put', message }));
    const out = concat(live, live.reduce((n, r) => n + r.length, 0));
    this.log = out.length ? [out] : [];
    this.logBytes = out.length;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
