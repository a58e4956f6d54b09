// Every failure path of the shared TLS/login flags, on every verb that takes them, as a user hits it:
// the exit code and the one line. All of them are refused before any connection is tried (the
// broker address is a closed port), and none prints the password.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canopy } from './support/run-canopy.ts';
import { initCa, issue } from '../ident/fleet-ca.ts';
import { keyPem } from '../ident/certificates.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-flags-cli-'));
const f = (...p: string[]) => join(dir, ...p);
const ca = initCa(f('ca'));
function client(name: string, into = f(`${name}`)): { cert: string; key: string } {
  const issued = issue(ca, name, 'client', { keyType: 'p256', days: 30 });
  mkdirSync(into, { recursive: true });
  const files = { cert: join(into, 'device.pem'), key: join(into, 'device.key') };
  writeFileSync(files.cert, issued.cert.toString());
  writeFileSync(files.key, keyPem(issued.key));
  return files;
}
const tech = client('tech-1');
const other = client('other');
writeFileSync(f('junk.pem'), 'not a certificate\n');
writeFileSync(f('empty-password'), '\n');
writeFileSync(f('password'), 'hunter2-secret\n');
// Identities folders: an empty one, and one whose dev-b folder holds another device's certificate.
mkdirSync(f('no-devices'));
client('dev-a', f('mixed', 'dev-a'));
client('dev-c', f('mixed', 'dev-b'));
client('dev-a', f('ok-devices', 'dev-a'));
client('dev-b', f('ok-devices', 'dev-b'));
// A device folder with its certificate but no key.
mkdirSync(f('broken', 'dev-a'), { recursive: true });
writeFileSync(f('broken', 'dev-a', 'device.pem'), issue(ca, 'dev-a', 'client', { keyType: 'p256', days: 30 }).cert.toString());

const CLOSED = 'mqtts://127.0.0.1:1';

/** Each verb with what it needs besides the broker flags. */
const VERBS: Record<string, string[]> = {
  sim: ['sim', '--engine', 'node', '--duration', '1'],
  devices: ['devices', '--timeout', '1'],
  'ota push': ['ota', 'push', f('none.canopy'), '--device', 'd1', '--timeout', '1'],
  'ota rollout': ['ota', 'rollout', f('none.canopy'), '--fleet', 'd1', '--timeout', '1'],
  session: ['session', '--duration', '1'],
};

const CASES: [string, string[], number, RegExp][] = [
  ['--cert without --key', ['--cert', tech.cert], 2, /--cert needs --key \(the client certificate's private key\)/],
  ['--key without --cert', ['--key', tech.key], 2, /--key needs --cert \(the client certificate it belongs to\)/],
  ['a CA file that is not a certificate', ['--ca', f('junk.pem')], 1, /junk\.pem is not a PEM certificate; expected the CA certificate the broker's certificate chains to/],
  ['a missing CA file', ['--ca', f('nope.pem')], 1, /cannot read the CA certificate .*nope\.pem: no such file/],
  ['a client certificate that is not one', ['--cert', f('junk.pem'), '--key', tech.key], 1, /junk\.pem is not a PEM certificate; expected a client certificate/],
  ['a key that is not the certificate\'s', ['--cert', tech.cert, '--key', other.key], 1, /other\/device\.key is not the private key of the certificate .*tech-1\/device\.pem/],
  ['a missing key file', ['--cert', tech.cert, '--key', f('nope.key')], 1, /cannot read the client key .*nope\.key: no such file/],
  ['a password file without a user name', ['--password-file', f('password')], 2, /a password needs a user name: give --username NAME/],
  ['a missing password file', ['--username', 'u', '--password-file', f('nope')], 1, /cannot read the password file .*nope: no such file/],
  ['an empty password file', ['--username', 'u', '--password-file', f('empty-password')], 2, /password file .*empty-password is empty/],
];

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

function stderrWrites(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  return lines;
}

describe.each(Object.entries(VERBS))('canopy %s: the TLS and login flags', (verb, base) => {
  it.each(CASES)('refuses %s before connecting', async (_what, flags, code, message) => {
    const r = await canopy(...base, '--broker', CLOSED, ...flags);
    expect(r.code, r.err).toBe(code);
    expect(r.err).toMatch(new RegExp(`^canopy ${verb}: (\\S*/)?${message.source}`));
    if (code === 2) expect(r.err).toContain(`Run \`npx canopy ${verb} --help\``);
    expect(r.err).not.toContain('hunter2-secret');
    const j = await canopy(...base, '--broker', CLOSED, ...flags, '--json');
    expect(j.code).toBe(code);
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, command: verb, error: { code, message: expect.stringMatching(message) } });
  });

  it(`a password from ${'$'}CANOPY_MQTT_PASSWORD needs a user name too: exit 2`, async () => {
    vi.stubEnv('CANOPY_MQTT_PASSWORD', 'hunter2-secret');
    const r = await canopy(...base, '--broker', CLOSED);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/a password needs a user name/);
    expect(r.err).not.toContain('hunter2-secret');
  });

  it('a broker URL with another scheme: exit 2, the password in it masked', async () => {
    const r = await canopy(...base, '--broker', 'http://user:hunter2-secret@b');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/scheme "http" is not supported/);
    expect(r.err).not.toContain('hunter2-secret');
  });

  it('--insecure warns on every run', async () => {
    const writes = stderrWrites();
    await canopy(...base, '--broker', CLOSED, '--insecure');
    expect(writes.join('')).toContain(`canopy ${verb}: warning: --insecure: the broker's certificate is not checked`);
  });
});

describe('verb-specific refusals', () => {
  it('sim: TLS and login flags need --broker (the embedded broker is plain, with no login): exit 2', async () => {
    const r = await canopy('sim', '--ca', f('ca', 'ca.pem'), '--duration', '1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^canopy sim: --ca needs --broker: the embedded broker is plain mqtt:\/\/ on loopback with no login/);
  });

  it('session --demo: TLS and login flags are for --broker: exit 2', async () => {
    const r = await canopy('session', '--demo', '--cert', tech.cert, '--key', tech.key);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^canopy session: --cert is for --broker; the --demo broker is plain mqtt:\/\/ on loopback with no login/);
  });

  it.each([
    ['with --devices', ['--identities', f('ok-devices'), '--devices', '3'], 2, /--devices cannot be combined with --identities \(one device per provisioned identity\)/],
    ['a missing folder', ['--identities', f('nowhere')], 1, /cannot read the identities folder .*nowhere: no such file/],
    ['a file, not a folder', ['--identities', f('password')], 1, /the identities folder .*password is a file; give the folder `canopy provision --out` wrote/],
    ['a folder with no device', ['--identities', f('no-devices')], 1, /no-devices holds no provisioned device \(expected .*no-devices\/ID\/device\.pem and device\.key, as `canopy provision ID --out .*no-devices` writes\)/],
    ['a certificate issued to another device', ['--identities', f('mixed')], 1, /mixed\/dev-b\/device\.pem was issued to "dev-c", not to the device "dev-b" its folder names/],
    ['a device folder without its key', ['--identities', f('broken')], 1, /cannot read the client key .*broken\/dev-a\/device\.key: no such file/],
    ['a scenario of another size', ['--identities', f('ok-devices'), '--scenario', 'sim/scenarios/steady.yaml'], 2, /--identities .*ok-devices holds 2 devices but the scenario runs \d+; give one identity per device/],
  ])('sim --identities: refuses %s', async (_what, flags, code, message) => {
    const r = await canopy('sim', '--broker', CLOSED, '--engine', 'node', ...flags);
    expect(r.code, r.err).toBe(code);
    expect(r.err).toMatch(new RegExp(`^canopy sim: (\\S*/)?${message.source}`));
  });
});
