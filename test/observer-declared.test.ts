// The fleet observer (canopy sim, canopy monitor, --json) decodes a fleet of several apps: the
// sensor-node's samples as before, another app's by the schema id its samples carry, and a
// sample of a schema it was not told about as a decode error, never a misread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { FleetObserver, type Observation } from '../sim/observer.ts';
import { encodeSample } from '../protocol/telemetry.ts';
import { Telemetry } from '../protocol/telemetry-schema.ts';
import { Topics } from '../protocol/topics.ts';
import { GREENHOUSE_TELEMETRY } from '../examples/greenhouse/telemetry.ts';
import { TestClient } from './support/clients.ts';

describe('FleetObserver with declared telemetry', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let observer: FleetObserver;
  let device: TestClient;
  const seen: Observation[] = [];
  const t = new Topics('canopy');

  beforeAll(async () => {
    await broker.start();
    observer = new FleetObserver({ broker: broker.url, clientId: 'declared-observer', telemetry: [GREENHOUSE_TELEMETRY] });
    observer.on('observation', (o: Observation) => seen.push(o));
    await observer.start();
    device = await new TestClient(broker.url, { clientId: 'declared-device' }).connect();
  });
  afterAll(async () => {
    await device.driver.stop();
    await observer.stop();
    await broker.stop();
  });

  it('decodes each app by its schema, and refuses an unknown one', async () => {
    const unknown = new Telemetry({ name: 'soil-probe', fields: [{ name: 'moisture', type: 'int', unit: '%', min: 0, max: 100 }] });
    device.driver.publish(t.telemetry('gh-1'), GREENHOUSE_TELEMETRY.encode(4, 1_700_000_000, { temperature: 29.5, humidity: 61, lux: 800, fan: true, manual: false }), { qos: 1 });
    device.driver.publish(t.telemetry('node-1'), encodeSample({ seq: 9, ts: 1_700_000_000, temperature: 20, humidity: 50, lux: 3, motion: false, dhtErrors: 0 }), { qos: 1 });
    device.driver.publish(t.telemetry('soil-1'), unknown.encode(1, 1_700_000_000, { moisture: 40 }), { qos: 1 });
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`only ${seen.length} observations`)), 10_000);
      const check = () => seen.filter((o) => o.kind !== 'status').length >= 3 && (clearTimeout(deadline), resolve());
      observer.on('observation', check);
      check();
    });
    const by = (device: string) => seen.find((o) => 'device' in o && o.device === device);
    expect(by('gh-1')).toMatchObject({ kind: 'record', schema: GREENHOUSE_TELEMETRY.id, app: 'greenhouse', record: { seq: 4, temperature: 29.5, fan: true, manual: false } });
    expect(by('node-1')).toMatchObject({ kind: 'telemetry', sample: { seq: 9, temperature: 20 } });
    expect(by('soil-1')).toMatchObject({ kind: 'decode-error', message: `telemetry schema ${unknown.id} is not known to this decoder` });
    expect(observer.rows.get('gh-1')?.lastSeq).toBe(4);
  });
});
