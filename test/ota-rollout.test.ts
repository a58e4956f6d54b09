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
import { canopy } from './support/run-canopy.ts';

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
    expect(s.halted).toBeUndefined();
    expect(s.groups.map((g) => g.length)).toEqual([1, 2, 1]);
    expect(s.results.map((r) => r.state)).toEqual(['confirmed', 'confirmed', 'confirmed', 'confirmed']);
    for (const d of ds) expect(d.installer.installedSeq).toBe(5);
  }, 60_000);

  it('halts past the failure threshold without touching the rest, and resumes without repeating anyone', async () => {
    const ids = ['h-1', 'h-2', 'h-3', 'h-4', 'h-5', 'h-6'];
    const ds = await fleet(ids, ['h-2']);
    const state = join(mkdtempSync(join(tmpdir(), 'canopy-rollout-')), 'state.json');
    const first = await runRollout(driver, pkg, ids, { stateFile: state, haltRatio: 0.2, idleTimeoutMs: 10_000 });
    expect(first.halted?.reason).toBe('1 of 3 devices tried did not confirm, above 20%');
    expect(first.results.map((r) => [r.deviceId, r.state])).toEqual([
      ['h-1', 'confirmed'],
      ['h-2', 'rolled-back'],
      ['h-3', 'confirmed'],
    ]);
    expect(first.untouched).toEqual(['h-4', 'h-5', 'h-6']);
    for (const d of ds.slice(3)) expect([d.flash.erases, d.flash.writes]).toEqual([0, 0]);
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')).results)).toEqual(['h-1', 'h-2', 'h-3']);

    const before = ds.map((d) => d.flash.writes);
    // A plain rerun stays halted and touches nobody.
    const again = await runRollout(driver, pkg, ids, { stateFile: state, haltRatio: 0.5, idleTimeoutMs: 10_000 });
    expect(again.halted?.failed).toEqual(['h-2']);
    expect(again.groups).toEqual([]);
    expect(ds.map((d) => d.flash.writes)).toEqual(before);
    const second = await runRollout(driver, pkg, ids, { stateFile: state, haltRatio: 0.5, idleTimeoutMs: 10_000, overrideHalt: true });
    expect(second.halted).toBeUndefined();
    expect(second.notConfirmed).toEqual(['h-2']);
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


describe('canopy ota rollout: refusals halt, reruns resume only when told (issue 11 item 5)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-rollout-halt-'));
  writeFileSync(join(dir, 'p.cota'), pkg);
  const rollout = (fleetIds: string, ...more: string[]) =>
    canopy('ota', 'rollout', join(dir, 'p.cota'), '--broker', broker.url, '--fleet', fleetIds, '--state', join(dir, `${fleetIds}.json`), ...more);

  it('a fleet where every device refuses halts at the canary and exits 3', async () => {
    // Devices of another chip: each one refuses the package (esp-mismatch).
    for (const id of ['w-1', 'w-2', 'w-3']) {
      const d = new OtaTestDevice({ id, broker: broker.url, trust, identity: { ...identity, chipId: 5 } });
      devices.push(d);
      d.boot();
      await d.ready;
    }
    const r = await rollout('w-1,w-2,w-3');
    expect(r.code).toBe(3);
    expect(r.out).toContain('0 confirmed, 1 refused, 0 failed, rolled back or silent, 2 untouched');
    expect(r.out).toContain('HALTED: canary w-1 (refused esp-mismatch) did not confirm');
    expect(r.out).toContain('--retry-failed');
    expect(r.err).toContain('canary: 1 device(s)');
    expect(r.err).not.toContain('wave 1');
    const json = await rollout('w-1,w-2,w-3', '--json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out.split('\n').at(-1)!).summary).toMatchObject({ halted: true, confirmed: 0, refused: 1, untouched: ['w-2', 'w-3'], code: 3 });
    // --override-halt goes on, but the threshold still counts this run's refusals.
    const over = await rollout('w-1,w-2,w-3', '--override-halt');
    expect(over.code).toBe(3);
    expect(over.out).toContain('HALTED: 1 of 1 devices tried did not confirm, above 10%');
    // Past every threshold the rollout ends, and still exits non-zero: nobody confirmed.
    const all = await rollout('w-1,w-2,w-3', '--override-halt', '--halt-percent', '100');
    expect(all.code).toBe(1);
    expect(all.out).toContain('0 confirmed, 3 refused');
    expect(all.out).toContain('not confirmed: w-1, w-2, w-3');
  }, 60_000);

  it('a silent canary halts; a plain rerun stays halted; --retry-failed pushes to it again first and resumes', async () => {
    await fleet(['s-2', 's-3']); // s-1 is offline
    const first = await rollout('s-1,s-2,s-3', '--timeout', '1');
    expect(first.code).toBe(3);
    expect(first.out).toContain('HALTED: canary s-1 (timeout) did not confirm');
    const plain = await rollout('s-1,s-2,s-3', '--timeout', '1');
    expect(plain.code).toBe(3);
    expect(plain.err).not.toContain('canary:'); // nobody pushed to
    const [s1] = await fleet(['s-1']);
    const retry = await rollout('s-1,s-2,s-3', '--retry-failed');
    expect(retry.code).toBe(0);
    expect(retry.out).toContain('3 confirmed, 0 refused, 0 failed, rolled back or silent, 0 untouched');
    expect(s1.installer.installedSeq).toBe(5);
  }, 60_000);

  it('refuses a tampered package before connecting, with the verify exit code', async () => {
    const bad = pkg.slice();
    bad[bad.length - 100] ^= 1;
    writeFileSync(join(dir, 'bad.cota'), bad);
    const r = await canopy('ota', 'rollout', join(dir, 'bad.cota'), '--broker', 'mqtt://127.0.0.1:1', '--fleet', 'x');
    expect(r.code).toBe(23);
    expect(r.err).toContain('package refused before connecting: chunk (exit 23)');
  });
});
