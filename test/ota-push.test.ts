import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { EmbeddedBroker } from '../host/broker.ts';
import { SessionDriver } from '../host/transport.ts';
import { Session } from '../protocol/session/session.ts';
import { encodeManifest } from '../protocol/ota/manifest.ts';
import { decodeBlock, decodeOffer, decodeRequest, decodeStatus, encodeBlock, encodeOffer, encodeRequest, encodeStatus, requestedBlocks, requestFor } from '../protocol/ota/transfer.ts';
import { signManifest } from '../ota/keys.ts';
import { assemble, manifestFor, pack } from '../ota/pack.ts';
import { OtaPusher } from '../ota/push.ts';
import { OtaTestDevice } from '../sim/ota-device.ts';
import { describeResult } from '../cli/commands/ota-push.ts';
import { describeReason } from '../protocol/ota/reasons.ts';
import { deviceContext, loadFixture, packOptions, release, stranger, trust } from './ota-support.ts';

const image = loadFixture('esp32');
const { installedSeq: _s, now: _n, partitionSize: _p, ...identity } = deviceContext();
const pkg = pack(image, [release], packOptions);
const blocks = Math.ceil(image.length / 4096);

let broker: EmbeddedBroker;
const open: (OtaTestDevice | SessionDriver)[] = [];

beforeAll(async () => {
  broker = await new EmbeddedBroker().start();
});
afterAll(async () => {
  for (const o of open) await o.stop().catch(() => {});
  await broker.stop();
});

function device(id: string, over: Partial<ConstructorParameters<typeof OtaTestDevice>[0]> = {}): OtaTestDevice {
  const d = new OtaTestDevice({ id, broker: broker.url, trust, identity, ...over });
  open.push(d);
  return d.boot();
}

async function push(p: Uint8Array, ids: string[], onStatus?: (d: string, s: { state: string; done: number }) => void) {
  const driver = new SessionDriver(new Session({ clientId: `pusher-${ids.join('-')}-${Math.random()}`, cleanSession: false, backoff: { baseMs: 20, capMs: 100 } }), broker.url).start();
  open.push(driver);
  const pusher = new OtaPusher(driver, p, ids, { idleTimeoutMs: 20_000, onStatus });
  const results = await pusher.run();
  return { results, stats: pusher.stats, driver };
}


describe('transfer messages', () => {
  it('round-trip and refuse unknown keys', () => {
    const id = new Uint8Array(8).fill(7);
    expect(decodeOffer(encodeOffer({ envelope: new Uint8Array([1]), table: new Uint8Array(0) })).envelope).toEqual(new Uint8Array([1]));
    const r = requestFor(id, [5, 6, 9, 40]);
    expect(requestedBlocks(decodeRequest(encodeRequest(r)))).toEqual([5, 6, 9, 40]);
    expect(decodeBlock(encodeBlock({ id, index: 3, data: new Uint8Array(4) })).index).toBe(3);
    const s = { id, state: 'receiving' as const, reason: 0, done: 1, total: 2, seq: 3 };
    expect(decodeStatus(encodeStatus(s))).toEqual({ ...s, detail: undefined });
    const bad = encodeOffer({ envelope: new Uint8Array([1]), table: new Uint8Array(0) });
    bad[0] = 0xa3;
    expect(() => decodeOffer(new Uint8Array([...bad, 0x03, 0x00]))).toThrow('unknown key 3');
  });
});

describe('push over the embedded broker', () => {
  it('installs, self-tests and confirms a real image on a simulated device', async () => {
    const d = device('e2e-1');
    const { results, stats } = await push(pkg, ['e2e-1']);
    expect(results[0]).toMatchObject({ state: 'confirmed', reason: 0 });
    expect(d.installer.installedSeq).toBe(5);
    expect(d.flash.runningImage(image.length)).toEqual(image);
    expect(d.boots).toBe(2);
    expect(stats.blocksSent).toBe(blocks);
    expect(stats.resentBlocks).toBe(0);
  }, 30_000);

  it('survives a dropped connection and a reboot mid-transfer, re-sending no completed block', async () => {
    let progress = 0;
    const d = device('e2e-2', { window: 2 });
    d.onEvent = (e, dev) => {
      if (e.type !== 'progress') return;
      progress++;
      if (progress === 3) dev.driver?.dropConnection();
      if (progress === 7) setTimeout(() => dev.reboot(), 0);
    };
    const { results, stats } = await push(pkg, ['e2e-2']);
    expect(results[0]).toMatchObject({ state: 'confirmed' });
    expect(d.boots).toBe(3); // the reboot mid-transfer, then into the new image
    expect(d.events).toContainEqual(expect.objectContaining({ type: 'transfer', resumed: true }));
    expect(d.agent.duplicates).toBe(0);
    expect(d.flash.writes).toBe(blocks); // every block written exactly once
    // Anything re-sent was in flight when the link went, never a block the device had written.
    expect(stats.resentBlocks).toBeLessThanOrEqual(8);
    expect(d.flash.runningImage(image.length)).toEqual(image);
  }, 30_000);

  it('a refused offer reports its reason and writes nothing', async () => {
    const d = device('e2e-3');
    const { results } = await push(pack(image, [stranger], packOptions), ['e2e-3']);
    expect(results[0]).toMatchObject({ state: 'refused', reason: 15, reasonName: 'signature' });
    expect([d.flash.erases, d.flash.writes]).toEqual([0, 0]);
  }, 30_000);

  it('a device of another chip refuses, and the push says which chips', async () => {
    const d = device('e2e-c3', { identity: { ...identity, chipId: 5 } });
    const { results } = await push(pkg, ['e2e-c3']);
    const why = 'the image is built for ESP32 (chip id 0), but this device is an ESP32-C3 (chip id 5)';
    expect(results[0]).toMatchObject({ state: 'refused', reasonName: 'esp-mismatch', detail: why });
    expect(describeResult(results[0])).toBe(`e2e-c3: refused: esp-mismatch (${describeReason('esp-mismatch')}): ${why}`);
    expect([d.flash.erases, d.flash.writes]).toEqual([0, 0]);
  }, 30_000);

  it('a package that fails its self-test rolls back and reports it; its replay is refused', async () => {
    const d = device('e2e-4', { selfTest: () => false });
    const { results } = await push(pkg, ['e2e-4']);
    expect(results[0]).toMatchObject({ state: 'rolled-back' });
    // Booted, rebooted into the update, rebooted back out of it.
    await d.untilBoots(3);
    expect(d.flash.running).toBe(0);
    expect(d.installer.installedSeq).toBe(0);
    const again = await push(pkg, ['e2e-4']);
    expect(again.results[0]).toMatchObject({ state: 'refused', reasonName: 'rollback' });
  }, 30_000);

  it('an image that never confirms is rolled back by its deadline', async () => {
    const d = device('e2e-5', { hangSelfTest: true, selfTestMs: 200 });
    const { results } = await push(pkg, ['e2e-5']);
    expect(results[0]).toMatchObject({ state: 'rolled-back' });
    await d.untilBoots(3);
    expect(d.flash.running).toBe(0);
  }, 30_000);

  it('offers again to a device that comes online after the push started', async () => {
    // The device boots only once the broker has seen the first offer go unanswered.
    const offered = new Promise<void>((resolve) => {
      const on = (packet: { topic: string }) => {
        if (packet.topic !== 'canopy/e2e-late/ota/offer') return;
        broker.instance.off('publish', on);
        resolve();
      };
      broker.instance.on('publish', on);
    });
    const pending = push(pkg, ['e2e-late']);
    await offered;
    device('e2e-late');
    expect((await pending).results[0]).toMatchObject({ state: 'confirmed' });
  }, 30_000);

  it('pushes to several devices at once; one in the list, one not', async () => {
    const bytes = encodeManifest({ ...manifestFor(image, packOptions).manifest, devices: ['e2e-6'] });
    const targeted = assemble(bytes, [signManifest(bytes, release)], manifestFor(image, packOptions).table, image);
    device('e2e-6');
    device('e2e-7');
    const { results } = await push(targeted, ['e2e-6', 'e2e-7']);
    expect(results.map((r) => [r.deviceId, r.state, r.reasonName]), JSON.stringify(results)).toEqual([
      ['e2e-6', 'confirmed', 'confirmed'],
      ['e2e-7', 'refused', 'target'],
    ]);
  }, 30_000);
});

describe('canopy ota push', () => {
  it('delivers to a simulated device and prints JSON lines; exits 0 when confirmed, else non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canopy-push-'));
    writeFileSync(join(dir, 'a.cota'), pkg);
    writeFileSync(join(dir, 'bad.cota'), pack(image, [stranger], packOptions));
    device('cli-1');
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['ota', 'push', join(dir, 'a.cota'), '--broker', broker.url, '--device', 'cli-1', '--json'])).toBe(0);
      const events = lines.map((l) => JSON.parse(l));
      expect(events.at(-1)).toMatchObject({ device: 'cli-1', final: 'confirmed', code: 0 });
      expect(events.some((e) => e.state === 'receiving')).toBe(true);
      lines.length = 0;
      device('cli-2');
      expect(await main(['ota', 'push', join(dir, 'bad.cota'), '--broker', broker.url, '--device', 'cli-2', '--json'])).toBe(15);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ final: 'refused', reason: 'signature' });
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }, 30_000);
});
