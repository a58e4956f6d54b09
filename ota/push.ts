// The edge that runs a sans-I/O Pusher (pusher.ts) on a started SessionDriver: messages and real
// time in, subscriptions and publishes out, one timer for the pusher's deadline. All push
// behaviour lives in the Pusher; this file only moves messages and time.
import type { SessionDriver } from '../host/transport.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import type { TransferStatus } from '../protocol/ota/transfer.ts';
import { Pusher, type DeviceResult, type PusherOptions, type PusherOutput, type PushStats } from './pusher.ts';

export { FINAL_STATES, Pusher, TIMEOUT_CODE, type DeviceResult, type PushStats, type PusherOptions } from './pusher.ts';

export interface PushOptions extends PusherOptions {
  onStatus?: (deviceId: string, s: TransferStatus) => void;
  /** Monotonic ms; defaults to performance.now. */
  clock?: () => number;
}

/** Serves one package to a set of devices over an already started SessionDriver. */
export class OtaPusher {
  readonly pusher: Pusher;
  private readonly clock: () => number;

  constructor(
    private readonly driver: SessionDriver,
    pkg: Uint8Array,
    devices: string[],
    private readonly options: PushOptions = {},
  ) {
    this.pusher = new Pusher(pkg, devices, options);
    this.clock = options.clock ?? (() => performance.now());
  }

  get stats(): PushStats {
    return this.pusher.stats;
  }

  /** Offers the package and resolves with every device's final status (or a timeout). */
  run(): Promise<DeviceResult[]> {
    const p = this.pusher;
    // Whether the broker was ever reached during the push: a device cannot answer through a broker
    // that was never reached, and a timeout must then say so instead of blaming the device.
    let reached = this.driver.session.state === 'connected';
    let linkTrouble = '';
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const listener = (e: SessionEvent) => {
        if (e.type === 'connected') reached = true;
        else if (e.type === 'connection-lost' || e.type === 'connect-refused') linkTrouble = e.reason;
        if (e.type !== 'message') return;
        apply(p.message(e.topic, e.payload, this.clock(), e.retain).drain());
      };
      const apply = (out: PusherOutput) => {
        if (out.subscribe.length) this.driver.subscribe(out.subscribe.map((topic) => ({ topic, qos: 1 as const })));
        for (const m of out.publish) this.driver.publish(m.topic, m.payload, { qos: m.qos });
        for (const s of out.statuses) this.options.onStatus?.(s.deviceId, s.status);
        clearTimeout(timer);
        timer = undefined;
        if (out.done) {
          this.driver.off('event', listener);
          const results = p.results() as DeviceResult[];
          resolve(reached ? results : results.map((r) => (r.state === 'timeout' ? { ...r, detail: `never reached the broker ${this.driver.address.host}:${this.driver.address.port}${linkTrouble ? ` (${linkTrouble})` : ''}, so no device could answer` } : r)));
          return;
        }
        if (out.deadline !== undefined) {
          timer = setTimeout(() => apply(p.tick(this.clock()).drain()), Math.max(0, Math.ceil(out.deadline - this.clock())));
        }
      };
      this.driver.on('event', listener);
      apply(p.start(this.clock()).drain());
    });
  }
}
