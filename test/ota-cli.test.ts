import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePackage, toHex } from '../protocol/ota/package.ts';
import { decodeManifest } from '../protocol/ota/manifest.ts';
import { reasonCode } from '../protocol/ota/reasons.ts';
import { encodeStatus } from '../protocol/ota/transfer.ts';
import { Session } from '../protocol/session/session.ts';
import { EmbeddedBroker } from '../host/broker.ts';
import { SessionDriver } from '../host/transport.ts';
import { loadFixture } from './ota-support.ts';
import { canopy } from './support/run-canopy.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-ota-cli-'));
const p = (f: string) => join(dir, f);
const image = p('app.bin');
const state = p('seq.json');
writeFileSync(image, loadFixture('esp32'));
writeFileSync(p('boot.bin'), loadFixture('esp32', 'bootloader.bin'));


const packArgs = (out: string, seq = 'auto', ...more: string[]) =>
  ['ota', 'pack', '--image', image, '--key', p('k1.pem'), '--seq', seq, '--vendor', 'acme', '--class', 'sensor-v1', '--state', state, '--out', out, ...more];

afterEach(() => vi.restoreAllMocks());

describe('canopy ota', () => {
  let kid = '';
  beforeAll(async () => {
    const r = await canopy('ota', 'keygen', '--out', p('k1.pem'));
    expect(r.code).toBe(0);
    kid = /kid ([0-9a-f]{16})/.exec(r.out)?.[1] ?? '';
    expect((await canopy('ota', 'keygen', '--out', p('k2.pem'))).code).toBe(0);
    expect((await canopy('ota', 'keygen', '--out', p('other.pem'))).code).toBe(0);
  });

  it('keygen writes a 0600 PKCS#8 PEM, prints the kid and will not overwrite', async () => {
    expect(readFileSync(p('k1.pem'), 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(statSync(p('k1.pem')).mode & 0o777).toBe(0o600);
    expect(kid).toMatch(/^[0-9a-f]{16}$/);
    const again = await canopy('ota', 'keygen', '--out', p('k1.pem'));
    expect(again.code).toBe(2);
    expect(again.err).toContain('--force');
  });

  it('pubkey writes the trust store as JSON and as a TS module', async () => {
    const r = await canopy('ota', 'pubkey', '--key', p('k1.pem'), '--out', p('trust.json'));
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(p('trust.json'), 'utf8'));
    expect(j.keys).toEqual([expect.objectContaining({ kid, alg: 'ES256', role: 'release' })]);
    const ts = readFileSync(p('trust.ts'), 'utf8');
    expect(ts).toContain('export const trustStore');
    expect(ts).toContain(kid);
  });

  it('pack, inspect and verify a real image; --seq auto never goes backwards', async () => {
    expect((await canopy(...packArgs(p('a.cota'), '1'))).code).toBe(0);
    expect((await canopy(...packArgs(p('b.cota')))).code).toBe(0);
    const seqOf = (f: string) => decodeManifest(parsePackage(new Uint8Array(readFileSync(f))).envelope.manifestBytes).seq;
    expect([seqOf(p('a.cota')), seqOf(p('b.cota'))]).toEqual([1, 2]);
    const low = await canopy(...packArgs(p('c.cota'), '2'));
    expect(low.code).toBe(2);
    expect(low.err).toContain('not above 2');
    expect((await canopy(...packArgs(p('c.cota'), '10'))).code).toBe(0);
    expect((await canopy(...packArgs(p('d.cota')))).code).toBe(0);
    expect(seqOf(p('d.cota'))).toBe(11);

    const v = await canopy('ota', 'verify', p('a.cota'), '--trust', p('trust.json'));
    expect(v.code).toBe(0);
    expect(v.out).toContain('valid: seq 1');
    const insp = await canopy('ota', 'inspect', p('a.cota'), '--json');
    const d = JSON.parse(insp.out).result;
    expect(d.signatures).toEqual([{ alg: 'ES256', kid }]);
    expect(d.image.chip).toBe('ESP32');
    expect(d.manifest.verified).toBe(false);
    const bin = await canopy('ota', 'inspect', image);
    expect(bin.out).toContain('chip: ESP32');
    expect(bin.out).toContain('project: hello_world');
  });

  it('--seq auto with no state refuses instead of starting again at 1 (issue 11 item 5)', async () => {
    const r = await canopy(...packArgs(p('fresh.cota')).map((a) => (a === state ? p('fresh-runner.json') : a)));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--seq auto: ${p('fresh-runner.json')} has no record for this vendor/class (a fresh machine or CI runner?); give --seq N, or --broker URL`);
    expect(existsSync(p('fresh.cota'))).toBe(false);
  });

  it('--seq auto --broker takes the next seq from the fleet\'s retained OTA status', async () => {
    const broker = await new EmbeddedBroker().start();
    const driver = new SessionDriver(new Session({ clientId: 'seq-fleet', cleanSession: true }), broker.url).start();
    try {
      await new Promise((r) => driver.once('connected', r));
      const id = new Uint8Array(8);
      for (const [dev, seq, st] of [['f-1', 41, 'confirmed'], ['f-2', 42, 'rolled-back'], ['f-3', 0, 'refused']] as const) {
        driver.publish(`canopy/${dev}/ota/status`, encodeStatus({ id, state: st, reason: 0, done: 0, total: 0, seq }), { qos: 1, retain: true });
      }
      await new Promise((r) => driver.on('delivered', (e: { id: number }) => e.id === 3 && r(undefined)));
      const fresh = p('ci-runner.json');
      const swap = (a: string) => (a === state ? fresh : a);
      const r = await canopy(...packArgs(p('fleet.cota')).map(swap), '--broker', broker.url);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('seq 43');
      // An empty prefix: nothing retained there, nothing in the state file for it either.
      const none = await canopy(...packArgs(p('none.cota')).map(swap).map((a) => (a === 'sensor-v1' ? 'other' : a)), '--broker', broker.url, '--prefix', 'elsewhere');
      expect(none.code).toBe(2);
      expect(none.err).toContain(`--seq auto: no device under ${broker.url} has a retained OTA status`);
      const fixed = await canopy(...packArgs(p('n.cota'), '50'), '--broker', broker.url);
      expect(fixed.code).toBe(2);
      expect(fixed.err).toContain('--broker is only for --seq auto');
    } finally {
      await driver.stop();
      await broker.stop();
    }
  });

  it('pack refuses a bootloader with the esp-image exit code', async () => {
    const r = await canopy('ota', 'pack', '--image', p('boot.bin'), '--key', p('k1.pem'), '--seq', '99', '--vendor', 'a', '--class', 'b', '--state', state, '--out', p('x.cota'));
    expect(r.code).toBe(reasonCode('esp-image'));
    expect(r.err).toContain('app descriptor magic missing');
  });

  it('verify exits with the reason code: tampered, untrusted, wrong device', async () => {
    const pkg = new Uint8Array(readFileSync(p('a.cota')));
    pkg[pkg.length - 100] ^= 1;
    writeFileSync(p('bad.cota'), pkg);
    expect((await canopy('ota', 'verify', p('bad.cota'), '--trust', p('trust.json'))).code).toBe(reasonCode('chunk'));
    await canopy('ota', 'pubkey', '--key', p('other.pem'), '--out', p('other.json'));
    const untrusted = await canopy('ota', 'verify', p('a.cota'), '--trust', p('other.json'), '--json');
    expect(untrusted.code).toBe(reasonCode('signature'));
    expect(JSON.parse(untrusted.out)).toMatchObject({ ok: false, command: 'ota verify', error: { reason: 'signature', code: 15 } });
    writeFileSync(p('dev.json'), JSON.stringify({ vendor: 'acme', class: 'sensor-v1', deviceId: 'd1', installedSeq: 1, chipId: 0 }));
    expect((await canopy('ota', 'verify', p('a.cota'), '--trust', p('trust.json'), '--device', p('dev.json'))).code).toBe(reasonCode('rollback'));
    expect((await canopy('ota', 'verify', p('b.cota'), '--trust', p('trust.json'), '--device', p('dev.json'))).code).toBe(0);
    writeFileSync(p('dev2.json'), JSON.stringify({ vendor: 'acme', class: 'other', installedSeq: 0 }));
    expect((await canopy('ota', 'verify', p('b.cota'), '--trust', p('trust.json'), '--device', p('dev2.json'))).code).toBe(reasonCode('class'));
  });

  it('offline manifest + sign + attach gives a 2-of-2 package', async () => {
    await canopy('ota', 'pubkey', '--key', p('k1.pem'), '--key', p('k2.pem'), '--threshold', '2', '--out', p('two.json'));
    const m = await canopy('ota', 'manifest', '--image', image, '--seq', 'auto', '--vendor', 'acme', '--class', 'sensor-v1', '--state', state, '--device', 'd1', '--expires', '+7d', '--out', p('m.cbor'));
    expect(m.code).toBe(0);
    expect((await canopy('ota', 'sign', '--manifest', p('m.cbor'), '--key', p('k1.pem'), '--out', p('s1.cose'))).code).toBe(0);
    expect((await canopy('ota', 'sign', '--manifest', p('m.cbor'), '--key', p('k2.pem'), '--out', p('s2.cose'))).code).toBe(0);
    expect((await canopy('ota', 'attach', '--image', image, '--manifest', p('m.cbor'), '--sig', p('s1.cose'), '--out', p('one.cota'))).code).toBe(0);
    expect((await canopy('ota', 'verify', p('one.cota'), '--trust', p('two.json'))).code).toBe(reasonCode('signature'));
    expect((await canopy('ota', 'attach', '--image', image, '--manifest', p('m.cbor'), '--sig', p('s1.cose'), '--sig', p('s2.cose'), '--out', p('both.cota'))).code).toBe(0);
    expect((await canopy('ota', 'verify', p('both.cota'), '--trust', p('two.json'))).code).toBe(0);
    const m2 = decodeManifest(new Uint8Array(readFileSync(p('m.cbor'))));
    expect(m2.devices).toEqual(['d1']);
    expect(toHex(parsePackage(new Uint8Array(readFileSync(p('both.cota')))).envelope.manifestBytes)).toBe(toHex(new Uint8Array(readFileSync(p('m.cbor')))));
    writeFileSync(p('c3.bin'), loadFixture('esp32-c3'));
    expect((await canopy('ota', 'attach', '--image', p('c3.bin'), '--manifest', p('m.cbor'), '--sig', p('s1.cose'), '--out', p('x.cota'))).code).toBe(reasonCode('digest'));
  });

  it('unknown verbs and missing flags are usage errors', async () => {
    expect((await canopy('ota', 'frobnicate')).code).toBe(2);
    expect((await canopy('ota', 'pack', '--image', image)).code).toBe(2);
  });
});
