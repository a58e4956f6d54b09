// The protocol session against real brokers over real sockets: aedes in-process and mosquitto
// as a child process. Each behaviour is checked on both.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { FaultProxy } from '../sim/fault-proxy.ts';
import { utf8Encode } from '../protocol/utf8.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { TestClient, waitFor } from './support/clients.ts';

interface TestBroker {
  readonly url: string;
  readonly port: number;
  start(): Promise<unknown>;
  restart(): Promise<void>;
  dispose(): Promise<void>;
  /** Resolves once the broker has processed the client's departure. */
  clientGone(clientId: string): Promise<void>;
}

function aedesBroker(): TestBroker {
  const b = new EmbeddedBroker({ port: 0 });
  return {
    get url() { return b.url; },
    get port() { return b.port; },
    start: () => b.start(),
    restart: () => b.restart(),
    dispose: () => b.stop(),
    clientGone: (id) => new Promise((resolve) => {
      const on = (client: { id: string }) => {
        if (client.id !== id) return;
        b.instance.off('clientDisconnect', on);
        resolve();
      };
      b.instance.on('clientDisconnect', on);
    }),
  };
}

function mosquittoBroker(): TestBroker {
  const m = new Mosquitto();
  return {
    get url() { return m.url; },
    get port() { return m.port; },
    start: () => m.start(),
    restart: () => m.restart(),
    dispose: () => m.dispose(),
    clientGone: (id) => m.whenLogged(new RegExp(`Client ${id} (disconnected|closed its connection)`), 10_000),
  };
}

const brokers: [string, () => TestBroker][] = [
  ['aedes', aedesBroker],
  ['mosquitto', mosquittoBroker],
];

describe.each(brokers)('against %s', (name, make) => {
  let broker: TestBroker;
  const clients: TestClient[] = [];
  let n = 0;
  const id = (role: string) => `${name}-${role}-${++n}`;
  const client = (url: string, clientId: string, extra: Partial<ConstructorParameters<typeof TestClient>[1]> = {}) => {
    const c = new TestClient(url, { clientId, keepalive: 5, ...extra });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = make();
    await broker.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.driver.kill();
  });
  afterAll(async () => {
    await broker.dispose();
  });

  it('retained status reads "online", then "offline" from the will when the socket dies', async () => {
    const dev = id('dev');
    const status = `canopy/${dev}/status`;
    const device = await client(broker.url, dev, { status: { topic: status } }).connect();
    const early = await client(broker.url, id('obs')).connect();
    await early.subscribe(status, 1);
    await early.until(() => early.texts(status).includes('online'), 'retained online');
    device.driver.kill();
    await early.until(() => early.texts(status).includes('offline'), 'the will');
    const late = await client(broker.url, id('late')).connect();
    await late.subscribe(status, 1);
    await late.until(() => late.texts(status).length > 0, 'retained status');
    expect(late.received.find((r) => r.topic === status)).toMatchObject({ text: 'offline', retain: true });
  });

  it('publishes no will after a clean DISCONNECT', async () => {
    const dev = id('dev');
    const status = `canopy/${dev}/status`;
    const observer = await client(broker.url, id('obs')).connect();
    await observer.subscribe(`canopy/${dev}/#`, 1);
    const device = await client(broker.url, dev, { status: { topic: status, announceOffline: false } }).connect();
    await observer.until(() => observer.texts(status).includes('online'), 'online');
    const gone = broker.clientGone(dev);
    await device.driver.stop();
    await gone;
    // A marker through the same broker: anything the departure caused has been routed by then.
    observer.driver.publish(`canopy/${dev}/marker`, utf8Encode('m'), { qos: 1 });
    await observer.until(() => observer.texts(`canopy/${dev}/marker`).length === 1, 'marker');
    expect(observer.texts(status)).toEqual(['online']);
  });

  it('announces "offline" itself on a clean stop, so the retained status is right', async () => {
    const dev = id('dev');
    const status = `canopy/${dev}/status`;
    const device = await client(broker.url, dev, { status: { topic: status } }).connect();
    await device.driver.stop();
    const late = await client(broker.url, id('late')).connect();
    await late.subscribe(status, 1);
    await late.until(() => late.texts(status).length > 0, 'retained status');
    expect(late.texts(status)).toEqual(['offline']);
  });

  for (const fault of ['broker restart', 'dropped TCP connection'] as const) {
    it(`QoS 1 and 2 survive a ${fault}: no loss, no QoS 2 duplicate`, async () => {
      const dev = id('dev');
      const observer = await client(broker.url, id('obs')).connect();
      await observer.subscribe(`canopy/${dev}/#`, 2);
      const device = await client(broker.url, dev).connect();
      const N = 60;
      for (let i = 1; i <= N; i++) {
        device.driver.publish(`canopy/${dev}/q1`, utf8Encode(String(i)), { qos: 1 });
        device.driver.publish(`canopy/${dev}/q2`, utf8Encode(String(i)), { qos: 2 });
        if (i === N / 2) {
          if (fault === 'broker restart') await broker.restart();
          else device.driver.dropConnection();
        }
        await new Promise((r) => setImmediate(r));
      }
      device.driver.publish(`canopy/${dev}/q2`, utf8Encode('end'), { qos: 2 });
      const want = Array.from({ length: N }, (_, i) => String(i + 1));
      await observer.until(
        () => observer.texts(`canopy/${dev}/q2`).includes('end') && want.every((w) => observer.texts(`canopy/${dev}/q1`).includes(w)),
        'every message',
        30_000,
      );
      const q2 = observer.texts(`canopy/${dev}/q2`).filter((t) => t !== 'end');
      if (name === 'aedes' && fault === 'broker restart') {
        // Our in-process "restart" cuts aedes between its PUBREL write and the persistence update
        // that records it, so the new instance re-sends a PUBLISH the observer already completed.
        // That is aedes' state, not the session's; exactly-once is held against mosquitto's real
        // restart and against aedes for a dropped connection.
        expect(new Set(q2)).toEqual(new Set(want));
      } else {
        expect([...q2].sort((a, b) => +a - +b)).toEqual(want);
      }
      expect(new Set(observer.texts(`canopy/${dev}/q1`))).toEqual(new Set(want));
      expect(device.events.some((e) => e.type === 'connection-lost')).toBe(true);
    });
  }

  it('keepalive detects a silent broker and reconnects once it answers again', async () => {
    const proxy = await new FaultProxy({ upstreamHost: '127.0.0.1', upstreamPort: broker.port }).start();
    try {
      const device = await client(proxy.url, id('dev'), { keepalive: 1 }).connect();
      proxy.partition();
      const t0 = performance.now();
      const timeout = await waitFor(device.driver, (e) => e.type === 'keepalive-timeout', 5000, 'keepalive timeout');
      const took = performance.now() - t0;
      expect(timeout).toMatchObject({ type: 'keepalive-timeout' });
      expect(took).toBeGreaterThanOrEqual(900);
      proxy.heal();
      await waitFor(device.driver, (e) => e.type === 'connected', 10_000, 'reconnect');
    } finally {
      await proxy.stop();
    }
  });
});
