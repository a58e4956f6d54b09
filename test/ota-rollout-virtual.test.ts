// Rollouts in virtual time: runRollout over Pushers and OtaAgents on the in-memory net of
// test/support/ota-virtual.ts. A silent device costs its whole idle timeout, in virtual ms.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pack } from '../ota/pack.ts';
import { runRollout } from '../ota/rollout.ts';
import { VirtualNet } from './support/ota-virtual.ts';
import { deviceContext, loadFixture, packOptions, release, trust } from './ota-support.ts';

const image = loadFixture('esp32');
const { installedSeq: _s, now: _n, partitionSize: _p, deviceId: _d, ...identity } = deviceContext();
const pkg = pack(image, [release], packOptions);
const IDLE = 120_000;

function setup() {
  const net = new VirtualNet(2);
  const push = (group: string[]) => Promise.resolve(net.push(pkg, group, { idleTimeoutMs: IDLE }));
  const state = join(mkdtempSync(join(tmpdir(), 'canopy-rollout-v-')), 'state.json');
  return { net, push, state };
}

describe('rollout in virtual time', () => {
  it('a canary that refuses halts before any other device is touched', async () => {
    const { net, push, state } = setup();
    net.device('r-1', { trust, identity: { ...identity, chipId: 5 } });
    const others = ['r-2', 'r-3', 'r-4'].map((id) => net.device(id, { trust, identity }));
    const s = await runRollout(push, pkg, ['r-1', 'r-2', 'r-3', 'r-4'], { stateFile: state });
    expect(s.halted).toEqual({ reason: 'canary r-1 (refused esp-mismatch) did not confirm', failed: ['r-1'] });
    expect(s.untouched).toEqual(['r-2', 'r-3', 'r-4']);
    for (const d of others) expect([d.flash.erases, d.flash.writes]).toEqual([0, 0]);
    expect(JSON.parse(readFileSync(state, 'utf8')).halted.failed).toEqual(['r-1']);
  });

  it('a silent canary halts after its idle timeout; a rerun stays halted; --retry-failed resumes once it is back', async () => {
    const { net, push, state } = setup();
    const fleet = ['q-1', 'q-2', 'q-3'];
    net.device('q-2', { trust, identity });
    net.device('q-3', { trust, identity });
    const first = await runRollout(push, pkg, fleet, { stateFile: state });
    expect(first.halted?.reason).toBe('canary q-1 (timeout) did not confirm');
    expect(net.now).toBe(IDLE);
    const again = await runRollout(push, pkg, fleet, { stateFile: state });
    expect(again.groups).toEqual([]);
    expect(again.halted?.failed).toEqual(['q-1']);
    net.device('q-1', { trust, identity });
    const retry = await runRollout(push, pkg, fleet, { stateFile: state, retryFailed: true });
    expect(retry.halted).toBeUndefined();
    expect(retry.groups).toEqual([['q-1'], ['q-2', 'q-3']]);
    expect(retry.results.map((r) => r.state)).toEqual(['confirmed', 'confirmed', 'confirmed']);
    expect(retry.notConfirmed).toEqual([]);
  });

  it('past the canary, refusals count towards the threshold like failures', async () => {
    const { net, push, state } = setup();
    const fleet = ['t-1', 't-2', 't-3', 't-4', 't-5', 't-6', 't-7'];
    for (const id of fleet) net.device(id, { trust, identity: id === 't-3' ? { ...identity, chipId: 5 } : identity });
    const s = await runRollout(push, pkg, fleet, { haltRatio: 0.2, stateFile: state });
    expect(s.groups.map((g) => g.length)).toEqual([1, 2, 4]);
    expect(s.halted?.reason).toBe('1 of 3 devices tried did not confirm, above 20%');
    expect(s.notConfirmed).toEqual(['t-3']);
    expect(s.untouched).toEqual(['t-4', 't-5', 't-6', 't-7']);
    // The override continues with the untouched devices; t-3's refusal no longer counts.
    const over = await runRollout(push, pkg, fleet, { haltRatio: 0.2, stateFile: state, overrideHalt: true });
    expect(over.groups).toEqual([['t-4'], ['t-5', 't-6'], ['t-7']]);
    expect(over.halted).toBeUndefined();
    expect(over.untouched).toEqual([]);
    expect(over.notConfirmed).toEqual(['t-3']);
  });
});
