// Least privilege against a real mosquitto: a TLS-only listener with require_certificate and
// use_identity_as_username, the fleet CA from `canopy ca init`, device certificates from
// `canopy provision`, and the ACL from `canopy acl --broker-kind mosquitto`.
// "Never reaches" is shown without sleeping: the refused message is sent and acknowledged first,
// then an allowed one follows on the same path, so had the first been routed it would have
// arrived before the second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canopy } from './support/run-canopy.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { TestClient, waitFor } from './support/clients.ts';
import { utf8Encode } from '../protocol/utf8.ts';
import { Topics } from '../protocol/topics.ts';
import { initCa, issue, loadCa } from '../ident/fleet-ca.ts';
import { keyPem } from '../ident/certificates.ts';
import { mosquittoAcl } from '../ident/acl.ts';

let dir: string;
let broker: Mosquitto;
const topics = new Topics('canopy');
const clients: TestClient[] = [];

const files = (name: string) => ({ cert: join(dir, 'people', `${name}.pem`), key: join(dir, 'people', `${name}.key`) });
const deviceFiles = (id: string) => ({ cert: join(dir, 'devices', id, 'device.pem'), key: join(dir, 'devices', id, 'device.key') });

function client(id: string, creds: { cert?: string; key?: string } | undefined): TestClient {
  const c = new TestClient(broker.url, { clientId: id, keepalive: 30 }, { tls: { ca: join(dir, 'ca', 'ca.pem'), ...creds } });
  clients.push(c);
  return c;
}

async function publishAcked(c: TestClient, topic: string, text: string): Promise<void> {
  const acked = waitFor(c.driver, (e) => e.type === 'delivered' && e.topic === topic, 10_000, `PUBACK for ${topic}`);
  c.driver.publish(topic, utf8Encode(text), { qos: 1 });
  await acked;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-acl-'));
  const caDir = join(dir, 'ca');
  expect((await canopy('ca', 'init', '--ca-dir', caDir)).code).toBe(0);
  for (const id of ['dev-a', 'dev-b']) {
    const r = await canopy('provision', id, '--broker', 'mqtts://127.0.0.1:8883', '--ca-dir', caDir, '--out', join(dir, 'devices'), '--key-type', 'p256');
    expect(r.code, r.err).toBe(0);
  }
  for (const name of ['tech-1', 'mon-1']) expect((await canopy('ca', 'client', name, '--ca-dir', caDir, '--out', join(dir, 'people'))).code).toBe(0);
  expect((await canopy('ca', 'server', 'broker', '--host', '127.0.0.1', '--ca-dir', caDir, '--out', join(dir, 'people'), '--key-type', 'p256')).code).toBe(0);
  const acl = await canopy('acl', '--broker-kind', 'mosquitto', '--technician', 'tech-1', '--monitor', 'mon-1', '--out', join(dir, 'acl.conf'));
  expect(acl.code, acl.err).toBe(0);

  // Not from this fleet: another CA's client certificate with a device's CN, and one of ours long expired.
  const foreign = initCa(join(dir, 'foreign-ca'));
  const stolenName = issue(foreign, 'dev-b', 'client', { keyType: 'p256', days: 30 });
  writeFileSync(join(dir, 'people', 'foreign.pem'), stolenName.cert.toString());
  writeFileSync(join(dir, 'people', 'foreign.key'), keyPem(stolenName.key));
  const ca = loadCa(caDir);
  const old = issue(ca, 'dev-b', 'client', { keyType: 'p256', days: 1, now: new Date(Date.now() - 10 * 86_400_000) });
  writeFileSync(join(dir, 'people', 'expired.pem'), old.cert.toString());
  writeFileSync(join(dir, 'people', 'expired.key'), keyPem(old.key));

  broker = await new Mosquitto({
    tls: { cafile: join(caDir, 'ca.pem'), ...{ certfile: files('broker').cert, keyfile: files('broker').key }, requireCertificate: true, useIdentityAsUsername: true },
    aclFile: join(dir, 'acl.conf'),
  }).start();
});

afterAll(async () => {
  for (const c of clients) c.driver.kill();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('mosquitto with the generated CA, certificates and ACL', () => {
  let a: TestClient;
  let b: TestClient;
  let tech: TestClient;
  let monitor: TestClient;

  beforeAll(async () => {
    a = await client('dev-a', deviceFiles('dev-a')).connect();
    b = await client('dev-b', deviceFiles('dev-b')).connect();
    tech = await client('tech-1', files('tech-1')).connect();
    monitor = await client('mon-1', files('mon-1')).connect();
    for (const [c, id] of [[a, 'dev-a'], [b, 'dev-b']] as const) {
      await c.subscribe(topics.commands(id), 1);
      await c.subscribe(topics.ota(id, 'offer'), 1);
    }
    await monitor.subscribe('canopy/#', 1);
    await tech.subscribe('canopy/+/telemetry', 1);
  });

  it('lets device A publish its telemetry (seen by technician and monitor) and receive its commands', async () => {
    await publishAcked(a, topics.telemetry('dev-a'), 't1');
    await tech.until(() => tech.texts(topics.telemetry('dev-a')).includes('t1'), 'telemetry at the technician');
    await monitor.until(() => monitor.texts(topics.telemetry('dev-a')).includes('t1'), 'telemetry at the monitor');
    await publishAcked(tech, topics.commands('dev-a'), 'c1');
    await a.until(() => a.texts(topics.commands('dev-a')).includes('c1'), 'command at dev-a');
    expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as dev-a .*u'dev-a'/);
  });

  it("never delivers device A's publish to device B's command or OTA topic", async () => {
    await publishAcked(a, topics.commands('dev-b'), 'forged-cmd');
    await publishAcked(a, topics.ota('dev-b', 'offer'), 'forged-offer');
    await broker.whenLogged(/Denied PUBLISH from dev-a .*'canopy\/dev-b\/cmd'/, 10_000);
    await publishAcked(tech, topics.commands('dev-b'), 'real-cmd');
    await publishAcked(tech, topics.ota('dev-b', 'offer'), 'real-offer');
    await b.until(() => b.texts(topics.ota('dev-b', 'offer')).includes('real-offer'), 'the technician offer at dev-b');
    expect(b.texts(topics.commands('dev-b'))).toEqual(['real-cmd']);
    expect(b.texts(topics.ota('dev-b', 'offer'))).toEqual(['real-offer']);
  });

  it("does not let device A read device B's commands, nor publish as B", async () => {
    await a.subscribe(topics.commands('dev-b'), 1); // mosquitto acknowledges it; the ACL then filters
    await publishAcked(tech, topics.commands('dev-b'), 'for-b-only');
    await publishAcked(tech, topics.commands('dev-a'), 'for-a');
    await a.until(() => a.texts(topics.commands('dev-a')).includes('for-a'), 'the later command at dev-a');
    expect(a.texts(topics.commands('dev-b'))).toEqual([]);
    await publishAcked(a, topics.telemetry('dev-b'), 'spoofed');
    await publishAcked(b, topics.telemetry('dev-b'), 'genuine');
    await monitor.until(() => monitor.texts(topics.telemetry('dev-b')).includes('genuine'), 'dev-b telemetry at the monitor');
    expect(monitor.texts(topics.telemetry('dev-b'))).toEqual(['genuine']);
  });

  it('keeps the monitor read-only', async () => {
    await publishAcked(monitor, topics.commands('dev-b'), 'monitor-cmd');
    await publishAcked(tech, topics.commands('dev-b'), 'after-monitor');
    await b.until(() => b.texts(topics.commands('dev-b')).includes('after-monitor'), 'the technician command at dev-b');
    expect(b.texts(topics.commands('dev-b'))).not.toContain('monitor-cmd');
  });

  it('refuses an unprovisioned client (no certificate) at the TLS handshake', async () => {
    const c = client('intruder', undefined);
    const lost = waitFor(c.driver, (e) => e.type === 'connection-lost', 10_000, 'refusal');
    c.driver.start();
    expect(await lost).toMatchObject({ type: 'connection-lost', reason: expect.stringMatching(/certificate|alert|handshake|closed|reset/i) });
    c.driver.kill();
    await broker.whenLogged(/peer did not return a certificate|certificate required/i, 10_000);
    expect(c.events.some((e) => e.type === 'connected')).toBe(false);
  });

  it("refuses another CA's certificate even with a device's CN, and an expired one of ours", async () => {
    const alerts: Record<string, RegExp> = {
      foreign: /the broker 127\.0\.0\.1:\d+ refused this client's certificate \(TLS alert: unknown ca\)/,
      expired: /the broker 127\.0\.0\.1:\d+ refused this client's certificate \(TLS alert: certificate expired\)/,
    };
    for (const name of ['foreign', 'expired']) {
      const c = client(`dev-b-${name}`, files(name));
      const lost = waitFor(c.driver, (e) => e.type === 'connection-lost', 10_000, `refusal of ${name}`);
      c.driver.start();
      const e = await lost;
      c.driver.kill();
      expect(c.events.some((x) => x.type === 'connected'), name).toBe(false);
      expect(e).toMatchObject({ reason: expect.stringMatching(alerts[name]) });
    }
    await broker.whenLogged(/certificate verify failed/i, 10_000);
    expect(broker.log()).not.toMatch(/as dev-b-(foreign|expired)/);
  });

  it('the ACL on disk is what canopy acl prints', async () => {
    const r = await canopy('acl', '--broker-kind', 'mosquitto', '--technician', 'tech-1', '--monitor', 'mon-1');
    expect(r.code).toBe(0);
    expect(r.out + '\n').toBe(readFileSync(join(dir, 'acl.conf'), 'utf8'));
    expect(r.out).toBe(mosquittoAcl({ technicians: ['tech-1'], monitors: ['mon-1'] }).trimEnd());
  });
});
