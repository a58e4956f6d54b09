// The small interface through which the device app reaches the world: clock, timers, network,
// storage, restart. Sensors and outputs are the app's own (device/app/app-definition.ts). The ESP32/lin firmware (device/platform/moddable), the simulator on
// the XS engine (device/platform/xsnap) and the simulator on V8 (sim/) each implement it, so all
// three run the very same DeviceApp.
import type { OutboxStore } from '../../protocol/session/outbox';
import type { ResetReason } from '../../protocol/info';

export type TimerHandle = unknown;

export interface DeviceClock {
  /** Monotonic milliseconds; the Session's notion of time. */
  now(): number;
  /** Unix seconds, or 0 while the wall clock is not set (no SNTP yet). */
  unixTime(): number;
  /** Calls `callback` once after `ms`. */
  setTimer(callback: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type LinkState = 'down' | 'joining' | 'up';

export interface ConnectionHandlers {
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  /** The connection ended without `close()` being called: refused, reset, timed out, closed by the peer. */
  onClose(reason: string): void;
}

export interface Connection {
  write(bytes: Uint8Array): void;
  /** Closes after pending writes; no onClose follows. */
  close(): void;
}

export interface DeviceNetwork {
  /** Brings the link up (Wi-Fi join with retries on hardware); reports every state change. */
  start(onState: (state: LinkState, detail: string) => void): void;
  connect(host: string, port: number, secure: boolean, handlers: ConnectionHandlers): Connection;
  stop(): void;
}

/** Small persistent settings (NVS `preference` on ESP32). */
export interface DeviceStorage {
  get(key: string): string | number | boolean | undefined;
  set(key: string, value: string | number | boolean): void;
  delete(key: string): void;
  /** A byte value (an NVS blob: the TLS certificate and key); absent where the store has none. */
  getBytes?(key: string): ArrayBuffer | undefined;
}

/**
 * The health values only the platform can measure, for the device's info and health records
 * (protocol/info.ts). Leave out what the platform cannot tell: it is then absent on the wire.
 */
export interface PlatformHealth {
  /** Why this boot happened; read once at boot, the same on every call. */
  resetReason?: ResetReason;
  /** Bytes of free heap now. */
  freeHeap?: number;
  /** Wi-Fi signal now, dBm (-128..0). */
  rssi?: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface DevicePlatform {
  clock: DeviceClock;
  network: DeviceNetwork;
  storage: DeviceStorage;
  /** Where unacknowledged QoS 1/2 messages survive a reboot; in memory when absent. */
  outboxStore?: OutboxStore;
  /** Most bytes the outbox may hold (a flash store is smaller than the Outbox's default). */
  outboxMaxBytes?: number;
  /** [0, 1); seeded in the simulator so runs repeat. */
  random(): number;
  log(level: LogLevel, message: string): void;
  /** Reboots the device (the app has already disconnected cleanly when it asks). */
  restart(reason: string): void;
  /** Reset reason, free heap, RSSI; absent: the info record carries none of them. */
  health?(): PlatformHealth;
}
