// `canopy monitor --app DIR`: a fleet of a developer's own app is decoded by that app's declared
// telemetry (its schema id in each sample); without the declaration its samples are decode errors,
// never misread as the sensor-node's; a folder that holds no app is refused in one line.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { TestClient } from './support/clients.ts';
import { canopy, outputUntil } from './support/cli.ts';
import { root } from './support/device-bundle.ts';
import { Topics } from '../protocol/topics.ts';
import { GREENHOUSE_TELEMETRY } from '../examples/greenhouse/telemetry.ts';

const greenhouse = join(root, 'examples', 'greenhouse');
const topics = new Topics('canopy');
let broker: EmbeddedBroker;
let publisher: TestClient;

beforeAll(async () => {
  broker = await new EmbeddedBroker({ port: 0 }).start();
  publisher = await new TestClient(broker.url, { clientId: 'gh-1', keepalive: 30 }).connect();
  publishSample();
  // The broker holds it once it hands it back to a subscriber of its own.
  await publisher.subscribe(topics.telemetry('gh-1'), 1);
  await publisher.until(() => publisher.events.some((e) => e.type === 'message' && e.retain), 'the retained sample back from the broker');
});

afterAll(async () => {
  await publisher?.driver.stop();
  await broker?.stop();
});

// Retained, so a monitor that subscribes later still gets it: no publishing on a timer until it is listening.
function publishSample(): void {
  const field = GREENHOUSE_TELEMETRY.declaration.fields.find((f) => f.name === 'temperature')!;
  const values = Object.fromEntries(GREENHOUSE_TELEMETRY.declaration.fields.map((f) => [f.name, f.type === 'bool' ? false : (f.min ?? 0)]));
  values[field.name] = 21.5;
  publisher.driver.publish(topics.telemetry('gh-1'), GREENHOUSE_TELEMETRY.encode(7, 1_700_000_000, values), { qos: 1, retain: true });
}

describe('canopy monitor --app', () => {
  it('decodes the app\'s samples by its declared telemetry', async () => {
    const monitor = canopy(['monitor', '--broker', broker.url, '--json', '--app', greenhouse]);
    await outputUntil(monitor, () => monitor.stdout.includes('"kind":"record"'), 'a decoded greenhouse record');
    monitor.child.kill('SIGTERM');
    expect(await monitor.exited).toBe(0);
    const record = monitor.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((o) => o.kind === 'record');
    expect(record).toMatchObject({ device: 'gh-1', schema: GREENHOUSE_TELEMETRY.id, record: { seq: 7, temperature: 21.5 } });
  }, 60_000);

  it('without the declaration the samples are decode errors, not sensor-node samples', async () => {
    const monitor = canopy(['monitor', '--broker', broker.url, '--json']);
    await outputUntil(monitor, () => monitor.stdout.includes('"kind":"decode-error"'), 'a decode error');
    monitor.child.kill('SIGTERM');
    await monitor.exited;
    expect(monitor.stdout).not.toContain('"kind":"telemetry"');
  }, 60_000);

  it('a folder with no app: exit 1, one line naming it', async () => {
    const monitor = canopy(['monitor', '--broker', broker.url, '--app', join(root, 'docs')]);
    expect(await monitor.exited).toBe(1);
    expect(monitor.stderr.trim().split('\n')).toHaveLength(1);
    expect(monitor.stderr).toMatch(/^canopy monitor: .*docs/);
  }, 30_000);
});
