// The broker-facing verbs on a locked-down mosquitto: TLS only, require_certificate,
// use_identity_as_username and the ACL from `canopy acl`, with the fleet CA, device identities and
// people's certificates the CLI itself issued. Every verb runs as a user runs it (a subprocess of
// bin/canopy.js); everything each one printed is kept, and at the end none of it may hold a
// private key or a password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mosquitto } from '../host/mosquitto.ts';
import { canopy as inProcess } from './support/run-canopy.ts';
import { canopy, outputUntil, type Run } from './support/cli.ts';
import { initCa, issue, loadCa } from '../ident/fleet-ca.ts';
import { keyPem } from '../ident/certificates.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { pack } from '../ota/pack.ts';
import { trustedKey, trustStoreJson } from '../protocol/ota/trust.ts';
import { loadFixture } from './ota-support.ts';

let dir: string;
let broker: Mosquitto;
const runs: { what: string; out: string; err: string }[] = [];
/** Every password in play: the people's (given with --password-file or the environment) and the devices'. */
const secrets: string[] = [];

const path = (...p: string[]) => join(dir, ...p);
const person = (name: string) => ['--cert', path('people', `${name}.pem`), '--key', path('people', `${name}.key`)];
const tls = () => ['--broker', broker.url, '--ca', path('ca', 'ca.pem')];

/** Runs a verb to its end, keeping what it printed for the leak check. */
async function run(what: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run & { code: number | null }> {
  const r = canopy(args, { env: { ...process.env, ...env } });
  const code = await r.exited;
  runs.push({ what, out: r.stdout, err: r.stderr });
  return Object.assign(r, { code });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-secure-'));
  const caDir = path('ca');
  const ok = async (...argv: string[]) => {
    const r = await inProcess(...argv);
    expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(0);
    runs.push({ what: argv.slice(0, 2).join(' '), out: r.out, err: r.err });
  };
  await ok('ca', 'init', '--ca-dir', caDir);
  for (const id of ['dev-a', 'dev-b']) await ok('provision', id, '--broker', 'mqtts://127.0.0.1:8883', '--ca-dir', caDir, '--out', path('devices'), '--key-type', 'p256', '--password');
  for (const id of ['dev-a', 'dev-b']) secrets.push(readFileSync(path('devices', id, 'mqtt-password'), 'utf8').trim());
  for (const name of ['tech-1', 'mon-1']) await ok('ca', 'client', name, '--ca-dir', caDir, '--out', path('people'));
  await ok('ca', 'server', 'broker', '--host', '127.0.0.1', '--ca-dir', caDir, '--out', path('people'), '--key-type', 'p256');
  await ok('acl', '--broker-kind', 'mosquitto', '--technician', 'tech-1', '--monitor', 'mon-1', '--out', path('acl.conf'));

  // Refused certificates: another CA's with a device's CN, and one of ours that expired.
  const foreign = issue(initCa(path('foreign-ca')), 'tech-1', 'client', { keyType: 'p256', days: 30 });
  const old = issue(loadCa(caDir), 'dev-b', 'client', { keyType: 'p256', days: 1, now: new Date(Date.now() - 10 * 86_400_000) });
  for (const [name, c] of [['foreign', foreign], ['expired', old]] as const) {
    writeFileSync(path('people', `${name}.pem`), c.cert.toString());
    writeFileSync(path('people', `${name}.key`), keyPem(c.key));
  }
  // A fleet folder where dev-b holds the expired certificate (its CN is still dev-b).
  cpSync(path('devices', 'dev-a'), path('bad-devices', 'dev-a'), { recursive: true });
  mkdirSync(path('bad-devices', 'dev-b'), { recursive: true });
  cpSync(path('people', 'expired.pem'), path('bad-devices', 'dev-b', 'device.pem'));
  cpSync(path('people', 'expired.key'), path('bad-devices', 'dev-b', 'device.key'));

  // A login the verbs send along (mosquitto takes the certificate's CN as the user): it must never show.
  const password = `pw-${randomBytes(12).toString('hex')}`;
  secrets.push(password);
  writeFileSync(path('password'), `${password}\n`, { mode: 0o600 });

  const key = signingKey(generateKeyPem('ES256'));
  writeFileSync(path('trust.json'), JSON.stringify(trustStoreJson({ threshold: 1, keys: [trustedKey(key.spki, 'release')] })));
  writeFileSync(path('app.canopy'), pack(loadFixture('esp32'), [key], { seq: 3, vendor: 'canopy', class: 'sensor-v1' }));

  broker = await new Mosquitto({
    tls: { cafile: path('ca', 'ca.pem'), certfile: path('people', 'broker.pem'), keyfile: path('people', 'broker.key'), requireCertificate: true, useIdentityAsUsername: true },
    aclFile: path('acl.conf'),
  }).start();
}, 60_000);

afterAll(async () => {
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('a TLS-only, ACL-restricted mosquitto with provisioned simulated devices', () => {
  it('sim --identities: two devices publish over TLS as themselves; a technician OTA push confirms end to end', async () => {
    const sim = canopy(
      ['sim', ...tls(), '--identities', path('devices'), ...person('mon-1'), '--username', 'mon-1', '--password-file', path('password'),
        '--interval', '1000', '--json', '--ota-trust', path('trust.json'), '--duration', '120'],
    );
    try {
      const seen = (id: string) => sim.stdout.includes(`"kind":"telemetry","device":"${id}"`);
      await outputUntil(sim, () => seen('dev-a') && seen('dev-b'), 'telemetry from dev-a and dev-b', 60_000);
      // Each device was let in as its own certificate's CN, not as the simulator's login.
      expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as dev-a .*u'dev-a'/);
      expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as dev-b .*u'dev-b'/);
      expect(sim.stderr).toContain(`2 devices on the XS engine, broker mqtts://mon-1:***@127.0.0.1:${broker.port}`);

      const push = await run('ota push', ['ota', 'push', path('app.canopy'), ...tls(), ...person('tech-1'), '--username', 'tech-1', '--device', 'dev-a', '--trust', path('trust.json'), '--json', '--timeout', '60'],
        { CANOPY_MQTT_PASSWORD: secrets.at(-1) });
      expect(push.code, push.stderr).toBe(0);
      const lines = push.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.at(-1)).toMatchObject({ device: 'dev-a', final: 'confirmed' });
      // The rebooted device is back on the broker, as itself, with the new image.
      await outputUntil(sim, () => (sim.stdout.match(/"kind":"status","device":"dev-a","at":"[^"]+","status":"online"/g) ?? []).length >= 2, 'dev-a online again after the update', 30_000).catch((e) => {
        throw new Error(`${e.message}\n${sim.stdout.split('\n').filter((l) => l.includes('"status"')).join('\n')}`);
      });
    } finally {
      sim.child.kill('SIGTERM');
      expect(await sim.exited, sim.stderr).toBe(0);
      runs.push({ what: 'sim', out: sim.stdout, err: sim.stderr });
    }
    expect(sim.stderr).not.toMatch(/refused this client's certificate/);
  }, 150_000);

  it('devices lists the fleet with the monitor certificate (read-only, beside its sync topic)', async () => {
    const list = await run('devices', ['devices', ...tls(), ...person('mon-1'), '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((d: { id: string }) => d.id)).toEqual(['dev-a', 'dev-b']);
  }, 30_000);

  const REFUSED = (alert: string) => new RegExp(`the broker 127\\.0\\.0\\.1:\\d+ refused this client's certificate \\(TLS alert: ${alert}\\); it must be issued by the fleet CA the broker trusts, and be within its validity`);

  it.each([
    ['foreign', 'unknown ca'],
    ['expired', 'certificate expired'],
  ])('a %s certificate is refused, and every verb says so in words', async (name, alert) => {
    const refused = REFUSED(alert);
    const devices = await run('devices', ['devices', ...tls(), ...person(name), '--timeout', '10']);
    expect(devices.code).toBe(1);
    expect(devices.stderr).toMatch(new RegExp(`^canopy devices: cannot reach the broker at 127\\.0\\.0\\.1:\\d+: ${refused.source}`, 'm'));

    const session = await run('session', ['session', ...tls(), ...person(name), '--duration', '2', '--json']);
    expect(session.code).toBe(1);
    const sessionLines = session.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(sessionLines.find((l) => l.kind === 'connection-lost')?.reason).toMatch(refused);
    expect(sessionLines.at(-1)).toMatchObject({ ok: false, command: 'session', error: { code: 1, message: expect.stringMatching(/^never connected to mqtts:\/\/127\.0\.0\.1:\d+: the broker/) } });

    const push = await run('ota push', ['ota', 'push', path('app.canopy'), ...tls(), ...person(name), '--device', 'dev-a', '--timeout', '2']);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(new RegExp(`^canopy ota push: ${refused.source}; retrying$`, 'm'));
    expect(push.stdout).toMatch(/dev-a: timeout: never reached the broker 127\.0\.0\.1:\d+ \(the broker .* refused this client's certificate/);

    const rollout = await run('ota rollout', ['ota', 'rollout', path('app.canopy'), ...tls(), ...person(name), '--fleet', 'dev-a', '--timeout', '2', '--state', path(`${name}.rollout.json`)]);
    expect(rollout.code).not.toBe(0);
    expect(rollout.stderr).toMatch(new RegExp(`^canopy ota rollout: ${refused.source}; retrying$`, 'm'));

    const sim = await run('sim', ['sim', ...tls(), ...person(name), '--devices', '1', '--engine', 'node', '--duration', '3']);
    expect(sim.code).toBe(1);
    expect(sim.stderr).toMatch(new RegExp(`^canopy sim: never reached the broker mqtts://127\\.0\\.0\\.1:\\d+ in \\d+ s: ${refused.source}`, 'm'));
  }, 60_000);

  it('sim: a provisioned device whose certificate expired is named while the others run, and the run exits 1', async () => {
    const sim = await run('sim', ['sim', ...tls(), '--identities', path('bad-devices'), ...person('mon-1'), '--engine', 'node', '--interval', '1000', '--duration', '6', '--json']);
    expect(sim.code, sim.stderr).toBe(1);
    expect(sim.stderr).toMatch(/^canopy sim: no telemetry from dev-b reached the broker in this run \(the reason is above\)$/m);
    expect(sim.stderr).toMatch(/^canopy sim: warning: device dev-b: the client certificate .*bad-devices\/dev-b\/device\.pem expired on \d{4}-\d\d-\d\dT.*; the broker will refuse it/m);
    expect(sim.stderr).toMatch(new RegExp(`^canopy sim: device dev-b: ${REFUSED('certificate expired').source}; retrying$`, 'm'));
    expect(sim.stderr).not.toMatch(/device dev-a:/);
    expect(sim.stdout).toContain('"kind":"telemetry","device":"dev-a"');
    expect(sim.stdout).not.toContain('"kind":"telemetry","device":"dev-b"');
  }, 30_000);

  it('sim without --identities: every device presents the --cert/--key the watching connection uses', async () => {
    const sim = await run('sim', ['sim', ...tls(), ...person('tech-1'), '--devices', '1', '--engine', 'node', '--duration', '3']);
    expect(sim.code, sim.stderr).toBe(0);
    expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as sim-1 .*u'tech-1'/);
  }, 30_000);

  it('no private key and no password in anything a verb printed, --json included, nor in the broker log', () => {
    expect(runs.length).toBeGreaterThan(10);
    for (const r of runs) {
      for (const text of [r.out, r.err]) {
        expect(text, r.what).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
        for (const s of secrets) expect(text.includes(s), `${r.what} printed a password`).toBe(false);
      }
    }
    for (const s of secrets) expect(broker.log().includes(s)).toBe(false);
  });
});
