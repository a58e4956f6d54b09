// `--seq auto` from the fleet itself: every device leaves its last OTA status retained on
// <prefix>/<device>/ota/status, and each status carries the package's seq. The highest seq the
// broker holds, plus one, is above anything any device has installed, rolled back or started to
// receive, on any release machine. Retained messages have no end marker in MQTT 3.1.1, so they are
// collected until the broker has been quiet for a moment after the SUBACK.
import { Session } from '../protocol/session/session.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import { Topics } from '../protocol/topics.ts';
import { decodeStatus } from '../protocol/ota/transfer.ts';
import { SessionDriver, type BrokerAddress, type TlsFiles } from '../host/transport.ts';

export interface FleetSeq {
  /** Highest seq in a retained OTA status; 0 when there is none. */
  max: number;
  /** Devices with a retained OTA status. */
  devices: number;
}

export interface FleetSeqOptions {
  topics?: Topics;
  /** Quiet time after the last retained status (ms). Default 300. */
  quietMs?: number;
  /** Give up connecting after this long (ms). Default 10000. */
  connectTimeoutMs?: number;
  /** TLS files for an mqtts:// broker. */
  tls?: TlsFiles;
}

export async function fleetSeq(broker: string | BrokerAddress, o: FleetSeqOptions = {}): Promise<FleetSeq> {
  const topics = o.topics ?? new Topics();
  const filter = `${topics.prefix}/+/ota/status`;
  const driver = new SessionDriver(new Session({ clientId: `canopy-seq-${Math.random().toString(36).slice(2, 10)}`, cleanSession: true }), broker, { tls: o.tls });
  const where = `${driver.address.host}:${driver.address.port}`;
  const seen = new Map<string, number>();
  let failure = '';
  try {
    await new Promise<void>((resolve, reject) => {
      let quiet: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(quiet);
        quiet = setTimeout(resolve, o.quietMs ?? 300);
      };
      const giveUp = setTimeout(() => reject(new Error(`cannot read the fleet's OTA status from ${where}: ${failure || 'no answer'}`)), o.connectTimeoutMs ?? 10_000);
      driver.on('event', (e: SessionEvent) => {
        if (e.type === 'connected') driver.subscribe([{ topic: filter, qos: 1 }]);
        else if (e.type === 'subscribed') {
          clearTimeout(giveUp);
          settle();
        } else if (e.type === 'message' && e.retain) {
          const t = topics.parse(e.topic);
          try {
            if (t?.kind === 'ota') seen.set(t.deviceId, Math.max(seen.get(t.deviceId) ?? 0, decodeStatus(e.payload).seq));
          } catch {
            // Not a status this build can read: it says nothing about seq.
          }
          if (quiet) settle();
        } else if (e.type === 'connection-lost' || e.type === 'connect-refused') failure = e.reason;
      });
      driver.start();
    });
  } finally {
    await driver.stop();
  }
  return { max: Math.max(0, ...seen.values()), devices: seen.size };
}

