// Sessions over real sockets for integration tests, and an event-driven wait (no fixed sleeps).
import type { EventEmitter } from 'node:events';
import { Session, type SessionEvent, type SessionOptions } from '../../protocol/session/session.ts';
import { SessionDriver, type DriverOptions } from '../../host/transport.ts';
import { utf8Decode } from '../../protocol/utf8.ts';

export interface Received {
  topic: string;
  text: string;
  qos: number;
  retain: boolean;
}

export class TestClient {
  readonly driver: SessionDriver;
  readonly received: Received[] = [];
  readonly events: SessionEvent[] = [];

  /** `driver`: TLS files (CA, client certificate and key) for mqtts:// brokers. */
  constructor(url: string, options: SessionOptions, driver: DriverOptions = {}) {
    this.driver = new SessionDriver(new Session({ backoff: { baseMs: 50, capMs: 500 }, ...options }), url, driver);
    this.driver.on('event', (e: SessionEvent) => {
      this.events.push(e);
      if (e.type === 'message') this.received.push({ topic: e.topic, text: textOf(e.payload), qos: e.qos, retain: e.retain });
    });
  }

  get session(): Session {
    return this.driver.session;
  }

  async connect(): Promise<this> {
    const connected = waitFor(this.driver, (e) => e.type === 'connected', 10_000, 'CONNACK');
    this.driver.start();
    await connected;
    return this;
  }

  async subscribe(topic: string, qos: 0 | 1 | 2 = 2): Promise<void> {
    const done = waitFor(this.driver, (e) => (e.type === 'subscribed' || e.type === 'subscribe-failed') && e.filter === topic, 10_000, `SUBACK for ${topic}`);
    this.driver.subscribe([{ topic, qos }]);
    await done;
  }

  texts(topic: string): string[] {
    return this.received.filter((r) => r.topic === topic).map((r) => r.text);
  }

  /** Resolves when `predicate` holds over what this client has received. */
  until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return waitFor(this.driver, () => predicate(), timeoutMs, what).then(() => undefined);
  }
}

export function waitFor(emitter: EventEmitter, predicate: (e: SessionEvent) => boolean, timeoutMs: number, what: string): Promise<SessionEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off('event', on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const on = (e: SessionEvent) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      emitter.off('event', on);
      resolve(e);
    };
    emitter.on('event', on);
  });
}

/** UTF-8 payloads as text; binary ones (CBOR telemetry) as a marker, so one client can watch a whole fleet. */
function textOf(payload: Uint8Array): string {
  try {
    return utf8Decode(payload);
  } catch {
    return `<${payload.length} binary bytes>`;
  }
}
