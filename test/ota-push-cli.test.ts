// `canopy ota push` failure paths a user can hit: each exits promptly with its code and a sentence.
// A package refused on this machine is refused before the broker is contacted: a listening socket
// counts the connections it gets (none).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { trustStoreJson } from '../protocol/ota/trust.ts';
import { pack } from '../ota/pack.ts';
import { loadFixture, packOptions, release, stranger, trust } from './ota-support.ts';
import { canopy } from './support/run-canopy.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-push-cli-'));
const p = (f: string) => join(dir, f);
const image = loadFixture('esp32');
const good = pack(image, [release], packOptions);
const tampered = good.slice();
tampered[tampered.length - 100] ^= 1;
writeFileSync(p('good.cota'), good);
writeFileSync(p('tampered.cota'), tampered);
writeFileSync(p('stranger.cota'), pack(image, [stranger], packOptions));
writeFileSync(p('app.bin'), image);
writeFileSync(p('trust.json'), JSON.stringify(trustStoreJson(trust)));

let listener: Server;
let connections = 0;
let url = '';
let broker: EmbeddedBroker;
beforeAll(async () => {
  listener = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  url = `mqtt://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  broker = await new EmbeddedBroker().start();
});
afterAll(async () => {
  listener.close();
  await broker.stop();
});


describe('canopy ota push refuses on this machine, before connecting (issue 11 item 6)', () => {
  it('a tampered package: exit 23 (chunk), as `ota verify` says', async () => {
    const verify = await canopy('ota', 'verify', p('tampered.cota'), '--trust', p('trust.json'));
    const r = await canopy('ota', 'push', p('tampered.cota'), '--broker', url, '--device', 'd1');
    expect([r.code, verify.code]).toEqual([23, 23]);
    expect(r.err).toContain('canopy ota push: package refused before connecting: chunk (exit 23): chunk 30 does not match its digest');
    expect(r.err).toContain('a chunk does not match its digest');
    expect(connections).toBe(0);
  });

  it('a package signed by an untrusted key, with --trust: exit 15 (signature); --json gives the one error line of docs/cli-json.md', async () => {
    const r = await canopy('ota', 'push', p('stranger.cota'), '--broker', url, '--device', 'd1', '--trust', p('trust.json'), '--json');
    expect(r.code).toBe(15);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      command: 'ota push',
      error: { reason: 'signature', code: 15, message: expect.stringMatching(/^package refused before connecting: .*0 trusted signature\(s\), 1 required.*; /) },
    });
    expect(connections).toBe(0);
  });

  it('ota rollout --json: a tampered package is the same error line, exit 23 (chunk), before connecting', async () => {
    const r = await canopy('ota', 'rollout', p('tampered.cota'), '--broker', url, '--fleet', 'd1,d2', '--json', '--state', p('tampered.rollout.json'));
    expect(r.code).toBe(23);
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      command: 'ota rollout',
      error: { reason: 'chunk', code: 23, message: expect.stringMatching(/^package refused before connecting: chunk 30 does not match its digest; a chunk does not match its digest/) },
    });
    expect(r.err).toBe('');
    expect(connections).toBe(0);
  });

  it('ota push --json: a file that is not a package, exit 10 (frame), the error line', async () => {
    const r = await canopy('ota', 'push', p('app.bin'), '--broker', url, '--device', 'd1', '--json');
    expect(r.code).toBe(10);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, command: 'ota push', error: { reason: 'frame', code: 10 } });
    expect(connections).toBe(0);
  });

  it('a file that is not a package: exit 10 (frame)', async () => {
    const r = await canopy('ota', 'push', p('app.bin'), '--broker', url, '--device', 'd1');
    expect(r.code).toBe(10);
    expect(r.err).toMatch(/package refused before connecting: frame \(exit 10\): /);
    expect(connections).toBe(0);
  });

  it('a missing file: exit 1, naming it', async () => {
    const r = await canopy('ota', 'push', p('nope.cota'), '--broker', url, '--device', 'd1');
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy ota push: cannot read the package ${p('nope.cota')}: no such file`);
    expect(connections).toBe(0);
  });

  it('--timeout 0: exit 2, a usage error', async () => {
    const r = await canopy('ota', 'push', p('good.cota'), '--broker', url, '--device', 'd1', '--timeout', '0');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--timeout must be between 1 and');
    expect(connections).toBe(0);
  });

  it('an unreadable trust store: exit 1, naming it', async () => {
    writeFileSync(p('bad-trust.json'), '{');
    const r = await canopy('ota', 'push', p('good.cota'), '--broker', url, '--device', 'd1', '--trust', p('bad-trust.json'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${p('bad-trust.json')} is not JSON (`);
    expect(r.err).toContain('); expected a trust store from `canopy ota pubkey`');
    expect(connections).toBe(0);
  });
});

describe('canopy ota push to a device that does not exist (issue 11 item 8)', () => {
  it('says that no device answered and names the device id; exit 1', async () => {
    const r = await canopy('ota', 'push', p('good.cota'), '--broker', broker.url, '--device', 'no-such-dev', '--timeout', '1');
    expect(r.code).toBe(1);
    expect(r.out).toBe('no-such-dev: timeout: no device answered as "no-such-dev" within 1 s (is it online, and are the device id and --prefix right?)');
    expect(r.out).not.toContain('package is valid');
    const json = await canopy('ota', 'push', p('good.cota'), '--broker', broker.url, '--device', 'no-such-dev', '--timeout', '1', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ device: 'no-such-dev', final: 'timeout', code: 1, detail: expect.stringContaining('no device answered as "no-such-dev"') });
  }, 10_000);
});

describe('canopy ota push through a broker it never reaches', () => {
  it('says so, instead of blaming the device; exit 1', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await canopy('ota', 'push', p('good.cota'), '--broker', `mqtt://127.0.0.1:${port}`, '--device', 'd1', '--timeout', '1');
    expect(r.code).toBe(1);
    expect(r.out).toBe(`d1: timeout: never reached the broker 127.0.0.1:${port} (nothing is listening on 127.0.0.1:${port} (connection refused)), so no device could answer`);
  }, 10_000);
});
