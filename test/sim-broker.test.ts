// The simulator and the CLI against brokers that are unreachable, refuse credentials, present an
// untrusted certificate, or require a password (issue 11, items 9–11 and 13's TLS).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDeviceSocket, setDeviceTrust } from '../host/device-socket.ts';
import { canopy, outputUntil } from './support/cli.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { freePort } from '../host/loopback.ts';

const SECRET = 'hunter2-s3cret';
const dir = mkdtempSync(join(tmpdir(), 'canopy-sim-broker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every line printed, stdout and stderr, must be free of the password. */
function expectNoSecret(out: string): void {
  expect(out).not.toContain(SECRET);
}

describe('canopy sim with a broker it cannot reach (item 9)', () => {
  it('a closed port: says nothing is listening, retries visibly, stops at --duration with exit 1', async () => {
    const port = await freePort();
    const run = canopy(['sim', '--broker', `mqtt://127.0.0.1:${port}`, '--engine', 'node', '--devices', '1', '--duration', '3', '--json']);
    const code = await run.exited;
    expect(code, run.stderr).toBe(1);
    const retries = run.stderr.match(new RegExp(`nothing is listening on 127\\.0\\.0\\.1:${port} \\(connection refused\\); retrying`, 'g')) ?? [];
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(run.stderr).toContain(`canopy sim: never reached the broker mqtt://127.0.0.1:${port} in 3 s: nothing is listening on 127.0.0.1:${port}`);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.stdout).toBe('');
  }, 30_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('one %s ends a run that is still retrying, cleanly and promptly, exit 1', async (signal) => {
    const port = await freePort();
    const run = canopy(['sim', '--broker', `mqtt://127.0.0.1:${port}`, '--engine', 'node', '--devices', '1', '--json']);
    await outputUntil(run, () => run.stderr.includes('retrying'), 'the first retry');
    const sent = performance.now();
    run.child.kill(signal);
    const code = await run.exited;
    // Bounded: well under the device stop (5 s) plus the drain (2 s) it might take at most.
    expect(performance.now() - sent).toBeLessThan(8000);
    expect(code, run.stderr).toBe(1);
    expect(run.stderr).toContain('stopping devices cleanly');
    expect(run.stderr).toContain('never reached the broker');
  }, 30_000);

  it('canopy session says the same about a closed port, and one SIGTERM ends it cleanly', async () => {
    const port = await freePort();
    const run = canopy(['session', '--broker', `mqtt://127.0.0.1:${port}`]);
    await outputUntil(run, () => run.stdout.includes(`nothing is listening on 127.0.0.1:${port}`), 'the refusal');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout).toContain('closed');
  }, 30_000);

  it('one SIGTERM ends a running fleet with a clean stop, exit 0', async () => {
    const run = canopy(['sim', '--port', '0', '--engine', 'node', '--devices', '2', '--interval', '1000', '--json']);
    await outputUntil(run, () => run.stdout.includes('"kind":"telemetry"'), 'telemetry');
    const sent = performance.now();
    run.child.kill('SIGTERM');
    expect(await run.exited, run.stderr).toBe(0);
    expect(performance.now() - sent).toBeLessThan(8000);
    const last = run.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'status' && l.device === 'sim-1').at(-1);
    expect(last.status).toBe('offline');
  }, 30_000);
});

describe('brokers that require a password (items 9, 10, 11)', () => {
  const m = new Mosquitto({ users: { canopy: SECRET } });
  const good = () => `mqtt://canopy:${SECRET}@127.0.0.1:${m.port}`;
  const bad = () => `mqtt://canopy:wrong-${SECRET}@127.0.0.1:${m.port}`;
  beforeAll(() => m.start());
  afterAll(() => m.dispose());

  it('sim uses the URL credentials for devices and observer, and never prints the password', async () => {
    const run = canopy(['sim', '--broker', good(), '--engine', 'node', '--devices', '2', '--interval', '1000', '--duration', '3', '--json']);
    expect(await run.exited, run.stderr).toBe(0);
    const telemetry = run.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'telemetry');
    expect(new Set(telemetry.map((l) => l.device))).toEqual(new Set(['sim-1', 'sim-2']));
    expect(run.stderr).toContain(`broker mqtt://canopy:***@127.0.0.1:${m.port}`);
    expectNoSecret(run.stdout + run.stderr);
  }, 30_000);

  it('sim with live-fault proxies still logs the devices in', async () => {
    // A scenario with a fault puts a proxy in front of every device: the credentials must pass through.
    const scenario = join(dir, 'proxied.yaml');
    writeFileSync(scenario, 'name: proxied\nengine: node\nduration: 20s\ndevices:\n  - count: 1\n    interval: 1s\nfaults:\n  - at: 1s\n    latency: { ms: 10, for: 2s }\nassert:\n  - delivered\n');
    const run = canopy(['sim', '--broker', good(), '--scenario', scenario]);
    expect(await run.exited, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('PASSED');
    expectNoSecret(run.stdout + run.stderr);
  }, 60_000);

  it('sim with refused credentials reports "not authorized", retries, and exits 1 at --duration', async () => {
    const run = canopy(['sim', '--broker', bad(), '--engine', 'node', '--duration', '3', '--json']);
    expect(await run.exited, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/broker refused the connection: not authorized; retrying/);
    expect(run.stderr).toMatch(/never reached the broker mqtt:\/\/canopy:\*\*\*@127\.0\.0\.1:\d+ in 3 s: broker refused the connection: not authorized/);
    expectNoSecret(run.stdout + run.stderr);
  }, 30_000);

  it('monitor uses the URL credentials and masks the password, --json included', async () => {
    const monitor = canopy(['monitor', '--broker', good(), '--json']);
    const sim = canopy(['sim', '--broker', good(), '--engine', 'node', '--devices', '1', '--interval', '1000', '--duration', '3', '--json', '--prefix', 'canopy']);
    await outputUntil(monitor, () => monitor.stdout.includes('"kind":"telemetry"'), 'telemetry in the monitor');
    expect(await sim.exited).toBe(0);
    monitor.child.kill('SIGTERM');
    expect(await monitor.exited).toBe(0);
    expectNoSecret(monitor.stdout + monitor.stderr);
  }, 30_000);

  it('monitor with refused credentials says so and keeps retrying; the password stays masked', async () => {
    const monitor = canopy(['monitor', '--broker', bad()]);
    await outputUntil(monitor, () => (monitor.stderr.match(/not authorized; reconnecting/g) ?? []).length >= 2, 'two refusals');
    monitor.child.kill('SIGTERM');
    await monitor.exited;
    expectNoSecret(monitor.stdout + monitor.stderr);
  }, 30_000);

  it('session uses the URL credentials (and masks them in --json)', async () => {
    const run = canopy(['session', '--broker', good(), '--duration', '1', '--json', '--pub', `t/x=password=${SECRET}`]);
    expect(await run.exited, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.kind)).toContain('connected');
    expectNoSecret(run.stdout + run.stderr);
  }, 30_000);

  it('ota push and ota rollout log in with the URL credentials', async () => {
    const key = join(dir, 'k.pem');
    const pkg = join(dir, 'app.cota');
    const image = join(dir, 'app.bin');
    const { loadFixture } = await import('./ota-support.ts');
    writeFileSync(image, loadFixture('esp32'));
    for (const args of [
      ['ota', 'keygen', '--out', key],
      ['ota', 'pack', '--image', image, '--key', key, '--seq', '3', '--vendor', 'acme', '--class', 'sensor-v1', '--state', join(dir, 'seq.json'), '--out', pkg],
    ]) {
      const r = canopy(args);
      expect(await r.exited, r.stderr).toBe(0);
    }
    const push = canopy(['ota', 'push', pkg, '--broker', good(), '--device', 'nobody', '--timeout', '30']);
    await m.whenLogged(/as canopy-push-\w+ \([^)]*u'canopy'\)/, 15_000);
    push.child.kill('SIGTERM');
    await push.exited;
    const rollout = canopy(['ota', 'rollout', pkg, '--broker', good(), '--fleet', 'nobody', '--timeout', '30']);
    await m.whenLogged(/as canopy-rollout-\w+ \([^)]*u'canopy'\)/, 15_000);
    rollout.child.kill('SIGTERM');
    await rollout.exited;
    expectNoSecret(push.stdout + push.stderr + rollout.stdout + rollout.stderr);
  }, 60_000);

  it('a malformed URL is a usage error whose message masks the password, exit 1 or 2', async () => {
    const run = canopy(['sim', '--broker', `mqtt://canopy:${SECRET}@127.0.0.1:99999`, '--engine', 'node', '--duration', '1']);
    const code = await run.exited;
    expect([1, 2]).toContain(code);
    expect(run.stderr).toContain('has an invalid port "99999"');
    expect(run.stderr).toContain('mqtt://canopy:***@127.0.0.1:99999');
    expectNoSecret(run.stdout + run.stderr);
  }, 30_000);
});

it('a URL password without a user name is refused up front with a sentence, exit 2 (a usage mistake), password masked', async () => {
  const run = canopy(['session', '--broker', `mqtt://:${SECRET}@127.0.0.1:1`, '--duration', '1']);
  expect(await run.exited).toBe(2);
  expect(run.stderr).toContain('canopy session: a password needs a user name: give --username NAME');
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expectNoSecret(run.stdout + run.stderr);
}, 30_000);

describe('simulated devices verify the broker certificate like the firmware (item 13)', () => {
  let server: Server;
  let aedes: Aedes;
  let port: number;
  const pki = join(dir, 'pki');
  beforeAll(async () => {
    execFileSync('mkdir', ['-p', pki]);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    writeFileSync(join(pki, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sim test CA');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=server');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf');
    aedes = new Aedes();
    await aedes.listen();
    server = createServer({ key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.pem')) }, (s) => aedes.handle(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    setDeviceTrust(undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  });

  function deviceConnect(): Promise<string> {
    return new Promise((resolve) => {
      const s = openDeviceSocket('127.0.0.1', port, true, {
        onConnect: () => {
          s.destroy();
          resolve('connected');
        },
        onData: () => {},
        onClose: (reason) => resolve(reason),
      });
    });
  }

  it('a device socket refuses a certificate it has no CA for, and accepts it with the CA', async () => {
    setDeviceTrust(undefined);
    expect(await deviceConnect()).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ is not trusted .*--ca FILE/);
    setDeviceTrust(readFileSync(join(pki, 'ca.pem')));
    expect(await deviceConnect()).toBe('connected');
  });

  it('sim against an untrusted certificate says so, retries, and exits 1 at --duration', async () => {
    const run = canopy(['sim', '--broker', `mqtts://127.0.0.1:${port}`, '--engine', 'node', '--duration', '3', '--json']);
    expect(await run.exited, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/is not trusted \(.*\); give its CA with --ca FILE; retrying/);
    expect(run.stderr).toContain('never reached the broker');
  }, 30_000);

  it('sim --ca: devices and observer verify the broker and run', async () => {
    const run = canopy(['sim', '--broker', `mqtts://127.0.0.1:${port}`, '--ca', join(pki, 'ca.pem'), '--engine', 'node', '--devices', '1', '--interval', '1000', '--duration', '3', '--json']);
    expect(await run.exited, run.stderr).toBe(0);
    expect(run.stdout).toContain('"kind":"telemetry"');
  }, 30_000);

  it('sim --ca with a missing file: a sentence and exit 1', async () => {
    const run = canopy(['sim', '--broker', `mqtts://127.0.0.1:${port}`, '--ca', join(pki, 'nope.pem'), '--engine', 'node', '--duration', '1']);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toContain(`cannot read the CA certificate ${join(pki, 'nope.pem')}: no such file`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
