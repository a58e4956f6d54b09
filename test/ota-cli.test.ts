import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { parsePackage, toHex } from '../protocol/ota/package.ts';
import { decodeManifest } from '../protocol/ota/manifest.ts';
import { reasonCode } from '../protocol/ota/reasons.ts';
import { loadFixture } from './ota-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-ota-cli-'));
const p = (f: string) => join(dir, f);
const image = p('app.bin');
const state = p('seq.json');
writeFileSync(image, loadFixture('esp32'));
writeFileSync(p('boot.bin'), loadFixture('esp32', 'bootloader.bin'));

/** Runs `canopy ...` in-process; returns the exit code and what it printed. */
async function canopy(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

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
    expect((await canopy(...packArgs(p('a.cota')))).code).toBe(0);
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
