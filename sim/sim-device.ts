// What the simulator needs of a virtual device, whichever engine runs the firmware: the real XS
// engine (sim/xs-device.ts) or V8 (sim/node-device.ts). Both run the same DeviceApp.
import type { OutboundMessage } from '../protocol/session/message.ts';
import type { OutboxStore } from '../protocol/session/outbox.ts';
import { decodeRecords, encodeRecord, type StoreRecord } from '../protocol/session/record.ts';
import type { ClimateReading } from '../device/sensor-node/app.ts';
import { MemoryRecordStore, VirtualFlash } from './virtual-flash.ts';
import type { Clock } from '../host/xs/timers.ts';
import type { TelemetryValues } from '../protocol/telemetry-schema.ts';
import type { DeviceIdentity, NetActivity } from '../host/device-socket.ts';

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
  /** Its broker connection ended (refused, untrusted, certificate refused, dropped): the socket's reason. */
  | { type: 'connection-lost'; reason: string }
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
  /** Its provisioned client certificate and key, presented on an mqtts:// connection. */
  identity?: DeviceIdentity;
  /** An app's modeled fields (`canopy sim --app`, sim/field-models.ts): they replace the app's own reading. */
  fields?: () => TelemetryValues;
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

/**
 * A device's persistent storage: settings, and the outbox store's live messages. The outbox is
 * held as the messages themselves, not as the record log the firmware writes: a QoS 1 sample
 * costs three records (put, in flight, ack) and the log used to keep up to 256 of them per device
 * between compactions, which was most of a simulated device's memory and much of its garbage.
 * Record bytes (the XS firmware's, over the bridge) are decoded on arrival; `readLog` encodes the
 * live set again for a boot. A subclass that keeps the records somewhere (sim/device-state.ts)
 * hears of each one through `recorded`.
 */
export class DeviceFlash {
  /** `settings`: NVS; a persistent map when the simulator keeps state across runs (sim/device-state.ts). */
  constructor(readonly settings = new Map<string, string | number | boolean>()) {}

  private otaParts: { flash: VirtualFlash; records: MemoryRecordStore } | undefined;
  private readonly live = new Map<number, OutboundMessage>();

  /** Records as the firmware encodes them (protocol/session/record.ts). */
  appendRecord(record: Uint8Array): void {
    for (const r of decodeRecords(record).records) this.apply(r);
    this.recorded(record);
  }

  /** Outbox entries held in RAM: the messages queued or in flight, however many went before. */
  get held(): number {
    return this.live.size;
  }

  /** The live messages as a log of put records, oldest first. */
  readLog(): Uint8Array {
    const live = this.messages().map((message) => encodeRecord({ op: 'put', message }));
    return concat(live, live.reduce((n, r) => n + r.length, 0));
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
      load: (): OutboundMessage[] => this.messages(),
      put: (message) => this.record({ op: 'put', message }),
      delete: (id) => this.record({ op: 'delete', id }),
    };
  }

  /** Each record as it is stored; nothing to do for flash that lives in memory. */
  protected recorded(_record: Uint8Array): void {}

  /** Whether `recorded` needs the bytes: encoding a record only to drop it is the cost to avoid. */
  protected get keepsRecords(): boolean {
    return false;
  }

  private record(r: StoreRecord): void {
    this.apply(r);
    if (this.keepsRecords) this.recorded(encodeRecord(r));
  }

  private apply(r: StoreRecord): void {
    // A copy, as bytes written to flash would be: the session goes on changing its own object.
    if (r.op === 'put') this.live.set(r.message.id, { ...r.message });
    else this.live.delete(r.id);
  }

  private messages(): OutboundMessage[] {
    return [...this.live.values()].sort((a, b) => a.id - b.id).map((m) => ({ ...m }));
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
