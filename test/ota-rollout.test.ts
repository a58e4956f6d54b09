import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { EmbeddedBroker } from '../host/broker.ts';
import { SessionDriver } from '../host/transport.ts';
import { Session } from '../protocol/session/session.ts';
import { pack } from '../ota/pack.ts';
import { planWaves, runRollout } from '../ota/rollout.ts';
import { OtaTestDevice } from '../sim/ota-device.ts';
import { deviceContext, loadFixture, packOptions, release, trust } from './ota-support.ts';

const image = loadFixture('esp32-s3');
const { installedSeq: _s, now: _n, partitionSize: _p, ...identity } = deviceContext({ chipId: 9, chipRevision: undefined });
const pkg = pack(image, [release], packOptions);

let broker: EmbeddedBroker;
let driver: SessionDriver;
const devices: OtaTestDevice[] = [];
beforeAll(async () => {
  broker = await new EmbeddedBroker().start();
  driver = new SessionDriver(new Session({ clientId: 'rollout-test', cleanSession: false }), broker.url).start();
});
afterAll(async () => {
  for (const d of devices) await d.stop();
  await driver.stop();
  await broker.stop();
});

async function fleet(ids: string[], failing: string[] = []): Promise<OtaTestDevice[]> {
  const ds = ids.map((id) => {
    const d = new OtaTestDevice({ id, broker: broker.url, trust, identity, selfTest: () => !failing.includes(id) });
    devices.push(d);
    return d.boot();
  });
  await Promise.all(ds.map((d) => d.ready));
  return ds;
}

describe('rollout', () => {
  it('plans a canary then waves growing by the factor', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
    expect(planWaves(ids, 1, 2).map((g) => g.length)).toEqual([1, 2, 4, 8, 5]);
    expect(planWaves(ids, 3, 1).map((g) => g.length)).toEqual([3, 4, 5, 6, 2]);
  });

  it('updates a whole fleet wave by wave', async () => {
    const ids = ['ok-1', 'ok-2', 'ok-3', 'ok-4'];
    const ds = await fleet(ids);
    const s = await runRollout(driver, pkg, ids, { idleTimeoutMs: 10_000 });
    expect(s.halted).toBe(false);
    expect(s.groups.map((g) => g.length)).toEqual([1, 2, 1]);
    expect(s.results.map((r) => r.state)).toEqual(['confirmed', 'confirmed', 'confirmed', 'confirmed']);
    for (const d of ds) expect(d.installer.installedSeq).toBe(5);
  }, 60_000);

  it('halts past the failure threshold without touching the rest, and resumes without repeating anyone', async () => {
    const ids = ['h-1', 'h-2', 'h-3', 'h-4', 'h-5', 'h-6'];
    const ds = await fleet(ids, ['h-2']);
    const state = join(mkdtempSync(join(tmpdir(), 'canopy-rollout-')), 'state.json');
    const first = await runRollout(driver, pkg, ids, { stateFile: state, haltRatio: 0.2, idleTimeoutMs: 10_000 });
    expect(first.halted).toBe(true);
    expect(first.results.map((r) => [r.deviceId, r.state])).toEqual([
      ['h-1', 'confirmed'],
      ['h-2', 'rolled-back'],
      ['h-3', 'confirmed'],
    ]);
    expect(first.untouched).toEqual(['h-4', 'h-5', 'h-6']);
    for (const d of ds.slice(3)) expect([d.flash.erases, d.flash.writes]).toEqual([0, 0]);
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')).results)).toEqual(['h-1', 'h-2', 'h-3']);

    const before = ds.map((d) => d.flash.writes);
    const second = await runRollout(driver, pkg, ids, { stateFile: state, haltRatio: 0.5, idleTimeoutMs: 10_000 });
    expect(second.halted).toBe(false);
    expect(second.untouched).toEqual([]);
    expect(second.results.map((r) => r.state)).toEqual(['confirmed', 'rolled-back', 'confirmed', 'confirmed', 'confirmed', 'confirmed']);
    expect(ds.slice(0, 3).map((d) => d.flash.writes)).toEqual(before.slice(0, 3)); // nobody pushed twice
    await expect(runRollout(driver, pack(image, [release], { ...packOptions, seq: 6 }), ids, { stateFile: state })).rejects.toThrow('another package');
  }, 60_000);
});

describe('canopy ota rollout', () => {
  it('runs from the CLI with a fleet file and prints a JSON summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canopy-rollout-cli-'));
    writeFileSync(join(dir, 'p.cota'), pkg);
    writeFileSync(join(dir, 'fleet.json'), JSON.stringify(['c-1', 'c-2', 'c-3']));
    await fleet(['c-1', 'c-2', 'c-3'], ['c-3']);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const code = await main(['ota', 'rollout', join(dir, 'p.cota'), '--broker', broker.url, '--fleet', '@' + join(dir, 'fleet.json'), '--halt-percent', '50', '--json']);
      expect(code).toBe(1); // one rolled back, under the halt threshold
      expect(JSON.parse(lines.at(-1)!).summary).toMatchObject({ halted: false, confirmed: 2, failures: 1, untouched: [] });
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }, 60_000);
});
