// CLI failure paths a user can hit, each with its exit code and its one-line message: a busy
// --port, user files that are missing or are not what the verb expected.
import { createPublicKey } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { canopy } from './support/run-canopy.ts';
import { loadFixture } from './ota-support.ts';

/** Holds a loopback port (a given one, or any free one) until closed. */
async function occupy(port = 0): Promise<{ server: Server; port: number } | undefined> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!ok) return undefined;
  return { server, port: (server.address() as { port: number }).port };
}

const held: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** What a verb wrote with process.stderr.write (the simulator's progress lines), besides console.error. */
function captureStderrWrites(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  return lines;
}

describe('a busy --port', () => {
  it('canopy sim --port N with N taken: refuses as canopy broker does, exit 1, one line, no devices started', async () => {
    const busy = (await occupy())!;
    held.push(busy.server);
    const writes = captureStderrWrites();
    const r = await canopy('sim', '--port', String(busy.port), '--duration', '1s', '--virtual-time', '--devices', '1');
    const message = `port ${busy.port} on 127.0.0.1 is already in use; pick another with --port, or 0 for any free port`;
    expect(r).toEqual({ code: 1, out: '', err: `canopy sim: ${message}` });
    expect(writes.join('')).not.toContain('devices on the');
    const broker = await canopy('broker', '--port', String(busy.port));
    expect(broker).toEqual({ code: 1, out: '', err: `canopy broker: ${message}` });
  }, 30_000);

  it('canopy sim without --port, 1883 taken: a free port instead, printed, exit 0', async () => {
    // Held here if free; if another process has it, it is just as taken.
    const p1883 = await occupy(1883);
    if (p1883) held.push(p1883.server);
    const writes = captureStderrWrites();
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // the --json event lines
    const r = await canopy('sim', '--duration', '1s', '--virtual-time', '--devices', '1', '--engine', 'node', '--json');
    expect(r.code, r.err).toBe(0);
    const started = /1 devices on the V8 engine, embedded broker mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(writes.join(''));
    expect(started, writes.join('')).not.toBeNull();
    expect(Number(started![1])).not.toBe(1883);
  }, 30_000);
});

/** What JSON.parse says about `text` on this Node version, as the messages quote it. */
function jsonMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} is JSON`);
}

describe('user files that are missing or not what the verb expected: exit 1, one sentence naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-cli-errors-'));
  const p = (name: string) => join(dir, name);
  const KEY = 'expected the private key file `canopy ota keygen` wrote';
  const TRUST = 'expected a trust store from `canopy ota pubkey`';
  const pack = (key: string) => canopy('ota', 'pack', '--image', p('app.bin'), '--key', key, '--seq', '1', '--vendor', 'acme', '--class', 'sensor-v1', '--state', p('seq.json'), '--out', p('app.cota'));

  beforeAll(async () => {
    writeFileSync(p('app.bin'), loadFixture('esp32'));
    writeFileSync(p('not-json.json'), '-x');
    writeFileSync(p('not-a-key.pem'), 'hello\n');
    writeFileSync(p('object.json'), '{"ids":["a"]}');
    expect((await canopy('ota', 'keygen', '--out', p('release.pem'))).code).toBe(0);
    expect((await canopy('ota', 'pubkey', '--key', p('release.pem'), '--out', p('trust.json'))).code).toBe(0);
    // A public key where a private one belongs: the trust store's key, as PEM.
    writeFileSync(p('public.pem'), createPublicKey(readFileSync(p('release.pem'))).export({ type: 'spki', format: 'pem' }));
    expect((await pack(p('release.pem'))).code).toBe(0);
  });

  it('ota pack --key with a file that is not a key', async () => {
    expect(await pack(p('not-a-key.pem'))).toEqual({ code: 1, out: '', err: `canopy ota pack: ${p('not-a-key.pem')} is not a PEM private key; ${KEY}` });
  });

  it('ota pack --key with a public key', async () => {
    expect(await pack(p('public.pem'))).toEqual({ code: 1, out: '', err: `canopy ota pack: ${p('public.pem')} is a public key, not a private key; ${KEY}` });
  });

  it('ota sign --key with a missing file', async () => {
    const m = await canopy('ota', 'manifest', '--image', p('app.bin'), '--seq', '2', '--vendor', 'acme', '--class', 'sensor-v1', '--state', p('seq.json'), '--out', p('m.cbor'));
    expect(m.code, m.err).toBe(0);
    const r = await canopy('ota', 'sign', '--manifest', p('m.cbor'), '--key', p('nope.pem'), '--out', p('s.cose'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota sign: cannot read the signing key ${p('nope.pem')}: no such file` });
  });

  it('ota pubkey --key with a file that is not a key', async () => {
    const r = await canopy('ota', 'pubkey', '--key', p('not-a-key.pem'), '--out', p('t2.json'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota pubkey: ${p('not-a-key.pem')} is not a PEM key; ${KEY}` });
  });

  it('ota pack --image with a missing file', async () => {
    const r = await canopy('ota', 'pack', '--image', p('nope.bin'), '--key', p('release.pem'), '--seq', '3', '--vendor', 'acme', '--class', 'sensor-v1', '--state', p('seq.json'), '--out', p('x.cota'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota pack: cannot read the image ${p('nope.bin')}: no such file` });
  });

  it('ota verify --trust with a file that is not JSON', async () => {
    const r = await canopy('ota', 'verify', p('app.cota'), '--trust', p('not-json.json'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota verify: ${p('not-json.json')} is not JSON (${jsonMessage('-x')}); ${TRUST}` });
  });

  it('ota verify --trust with a missing file', async () => {
    const r = await canopy('ota', 'verify', p('app.cota'), '--trust', p('nope.json'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota verify: cannot read the trust store ${p('nope.json')}: no such file` });
  });

  it('ota verify --trust with JSON that is not a trust store', async () => {
    const r = await canopy('ota', 'verify', p('app.cota'), '--trust', p('object.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^canopy ota verify: ${p('object.json')} is not a trust store \\(.+\\); ${TRUST.replace(/[`()]/g, '\\$&')}$`));
  });

  it('ota verify --device with a file that is not JSON', async () => {
    const r = await canopy('ota', 'verify', p('app.cota'), '--trust', p('trust.json'), '--device', p('not-json.json'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy ota verify: ${p('not-json.json')} is not JSON (${jsonMessage('-x')}); expected a device description: {"vendor", "class", and optionally "installedSeq", "chipId", …}`);
  });

  it('ota verify --device with a missing file', async () => {
    const r = await canopy('ota', 'verify', p('app.cota'), '--trust', p('trust.json'), '--device', p('nope.json'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota verify: cannot read the device file ${p('nope.json')}: no such file` });
  });

  it('ota verify with a missing package', async () => {
    const r = await canopy('ota', 'verify', p('nope.cota'), '--trust', p('trust.json'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota verify: cannot read the package ${p('nope.cota')}: no such file` });
  });

  // Port 9 (discard) on loopback: nothing may be contacted before the fleet file is read.
  it.each([
    ['not-json.json', (f: string) => `${f} is not JSON (${jsonMessage('-x')}); expected a JSON array of device ids such as ["lab-1","lab-2"]`],
    ['object.json', (f: string) => `${f} is not a list of device ids; expected a JSON array of device ids such as ["lab-1","lab-2"]`],
    ['nope.json', (f: string) => `cannot read the fleet file ${f}: no such file`],
  ])('ota rollout --fleet @%s: refused before connecting', async (name, message) => {
    const r = await canopy('ota', 'rollout', p('app.cota'), '--broker', 'mqtt://127.0.0.1:9', '--fleet', `@${p(name)}`, '--state', p('r.json'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota rollout: ${message(p(name))}` });
  });

  it('sim --scenario with a JSON file that is not JSON, and a missing one', async () => {
    const bad = await canopy('sim', '--scenario', p('not-json.json'));
    expect(bad).toEqual({ code: 1, out: '', err: `canopy sim: ${p('not-json.json')} is not JSON (${jsonMessage('-x')}); expected a scenario (docs/scenarios.md)` });
    const missing = await canopy('sim', '--scenario', p('nope.yaml'));
    expect(missing).toEqual({ code: 1, out: '', err: `canopy sim: cannot read the scenario ${p('nope.yaml')}: no such file` });
  });

  it('sim --ota-trust with a file that is not JSON', async () => {
    const r = await canopy('sim', '--ota-trust', p('not-json.json'), '--engine', 'node', '--duration', '1', '--virtual-time');
    expect(r).toEqual({ code: 1, out: '', err: `canopy sim: ${p('not-json.json')} is not JSON (${jsonMessage('-x')}); ${TRUST}` });
  });

  it('ota pack --state with a file that is not JSON', async () => {
    const r = await canopy('ota', 'pack', '--image', p('app.bin'), '--key', p('release.pem'), '--seq', '9', '--vendor', 'acme', '--class', 'sensor-v1', '--state', p('not-json.json'), '--out', p('y.cota'));
    expect(r).toEqual({ code: 1, out: '', err: `canopy ota pack: ${p('not-json.json')} is not JSON (${jsonMessage('-x')}); expected the sequence state file \`canopy ota pack\` keeps (docs/ota-cli-state.md), or another --state` });
  });

  it('ota verify --device of another chip: exit 25, naming both chips', async () => {
    writeFileSync(p('c3.json'), JSON.stringify({ vendor: 'acme', class: 'sensor-v1', chipId: 5 }));
    const r = await canopy('ota', 'verify', p('app.cota'), '--trust', p('trust.json'), '--device', p('c3.json'));
    expect(r.code).toBe(25);
    expect(r.err.split('\n')[0]).toBe('invalid (esp-mismatch, exit 25): the image is built for ESP32 (chip id 0), but this device is an ESP32-C3 (chip id 5)');
  });

  it('ca client with a CA folder whose key or certificate is not PEM', async () => {
    const ca = p('ca');
    mkdirSync(ca);
    writeFileSync(join(ca, 'ca.key'), 'hello\n');
    writeFileSync(join(ca, 'ca.pem'), 'hello\n');
    const key = await canopy('ca', 'client', 'tech', '--ca-dir', ca, '--out', p('people'));
    expect(key).toEqual({ code: 1, out: '', err: `canopy ca client: ${join(ca, 'ca.key')} is not a PEM private key; expected the ca.key \`canopy ca init\` wrote` });
    copyFileSync(p('release.pem'), join(ca, 'ca.key'));
    const cert = await canopy('ca', 'client', 'tech', '--ca-dir', ca, '--out', p('people'));
    expect(cert).toEqual({ code: 1, out: '', err: `canopy ca client: ${join(ca, 'ca.pem')} is not a PEM certificate; expected the ca.pem \`canopy ca init\` wrote` });
  });
});
