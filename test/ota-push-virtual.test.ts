// Pushes in virtual time: the sans-I/O Pusher against sans-I/O OtaAgents over virtual flash
// (test/support/ota-virtual.ts). Link cuts and power cuts are windows on the virtual clock, and
// timeouts of a minute cost nothing, so every number below is exact.
import { describe, expect, it } from 'vitest';
import { encodeManifest } from '../protocol/ota/manifest.ts';
import { sha256 } from '../protocol/ota/sha256.ts';
import { signManifest } from '../ota/keys.ts';
import { assemble, manifestFor, pack } from '../ota/pack.ts';
import { Pusher } from '../ota/pusher.ts';
import { exitCodeOf } from '../cli/commands/ota-push.ts';
import { reasonCode, type OtaReason } from '../protocol/ota/reasons.ts';
import { VirtualNet } from './support/ota-virtual.ts';
import { deviceContext, loadFixture, packOptions, release, trust } from './ota-support.ts';

const image = loadFixture('esp32'); // 124416 bytes: 31 blocks, the last one 1536 bytes
const { installedSeq: _s, now: _n, partitionSize: _p, deviceId: _d, ...identity } = deviceContext();
const good = pack(image, [release], packOptions);
const blocks = Math.ceil(image.length / 4096);

/** A correctly signed package around `payload` (so only the device's block checks can catch it). */
function signedAround(payload: Uint8Array, table = manifestFor(image, packOptions).table): Uint8Array {
  const u = manifestFor(image, packOptions);
  const bytes = encodeManifest({ ...u.manifest, chunkTableSha256: sha256(table) });
  return assemble(bytes, [signManifest(bytes, release)], table, payload);
}

const badPackages: [string, () => Uint8Array, string][] = [
  ['a corrupted image byte', () => {
    const p = pack(image, [release], packOptions);
    p[p.length - 5000] ^= 1;
    return p;
  }, 'chunk'],
  ['a signed chunk table entry that does not match its chunk', () => {
    const table = manifestFor(image, packOptions).table.slice();
    table[32 * 7] ^= 1;
    return signedAround(image, table);
  }, 'chunk'],
  ['a trailing byte', () => signedAround(new Uint8Array([...image, 0])), 'trailing'],
  ['a truncated image (last block short)', () => signedAround(image.subarray(0, image.length - 1)), 'truncated'],
  ['a truncated image (last block missing)', () => signedAround(image.subarray(0, 30 * 4096)), 'truncated'],
];

function net(): VirtualNet {
  return new VirtualNet(2);
}

describe('Pusher, sans-I/O', () => {
  it('refuses calls before start and a second start', () => {
    const p = new Pusher(good, ['x']);
    expect(() => p.tick(0)).toThrow('before start');
    p.start(0);
    expect(() => p.start(0)).toThrow('twice');
    const out = p.drain();
    expect(out.subscribe).toEqual(['canopy/x/ota/req', 'canopy/x/ota/status']);
    expect(out.publish.map((m) => [m.topic, m.qos])).toEqual([['canopy/x/ota/offer', 1]]);
    expect(out.deadline).toBe(2000); // the re-offer
  });

  it('installs and confirms in virtual time, each block sent once', () => {
    const n = net();
    const d = n.device('v-1', { trust, identity });
    const [r] = n.push(good, ['v-1']);
    expect(r).toMatchObject({ state: 'confirmed', reason: 0 });
    expect(d.installer.installedSeq).toBe(5);
    expect(d.flash.runningImage(image.length)).toEqual(image);
    expect(n.pusher!.stats).toMatchObject({ blocksSent: blocks, resentBlocks: 0 });
  });

  it('a link cut mid-transfer: the device asks again after its retry time, nothing completed is re-sent', () => {
    const n = net();
    const d = n.device('v-2', { trust, identity, agent: { window: 4 } });
    n.cut(20, 3000); // blocks and requests in flight at 20 ms are lost
    const [r] = n.push(good, ['v-2']);
    expect(r.state).toBe('confirmed');
    expect(d.agent.duplicates).toBe(0);
    expect(d.flash.writes).toBe(blocks);
    expect(n.pusher!.stats.resentBlocks).toBeLessThanOrEqual(4); // only what was in flight
    expect(n.now).toBeGreaterThan(3000);
  });

  it('a power cut mid-transfer resumes from the record without re-fetching a written block', () => {
    const n = net();
    let progress = 0;
    n.onEvent = (e, dev) => e.type === 'progress' && ++progress === 4 && n.after(0, () => dev.powerCycle());
    const d = n.device('v-3', { trust, identity, agent: { window: 4 } });
    const [r] = n.push(good, ['v-3']);
    expect(r.state).toBe('confirmed');
    expect(d.boots).toBe(3);
    expect(d.events).toContainEqual(expect.objectContaining({ type: 'transfer', resumed: true }));
    expect(d.flash.writes).toBe(blocks);
  });

  it('offers again to a device that comes online late', () => {
    const n = net();
    n.after(7000, () => n.device('v-late', { trust, identity }));
    const [r] = n.push(good, ['v-late']);
    expect(r.state).toBe('confirmed');
  });
});

describe('a block that can never verify (issue 11 item 7)', () => {
  for (const [name, make, reason] of badPackages) {
    it(`${name}: the device abandons after bounded retries, reports ${reason}, keeps the old image bootable and takes a new offer`, () => {
      const n = net();
      const d = n.device('bad', { trust, identity, agent: { maxBlockFailures: 3 } });
      const [r] = n.push(make(), ['bad'], { idleTimeoutMs: 60_000 });
      expect(r, JSON.stringify(r)).toMatchObject({ state: 'failed', reasonName: reason });
      expect(r.detail).toMatch(/failed its check 3 times, transfer abandoned/);
      expect(exitCodeOf([r])).toBe(reasonCode(reason as OtaReason)); // what `canopy ota push` exits with
      // Three asks, the retry time apart: well inside the idle timeout.
      expect(n.now).toBeLessThan(3 * 2000 + 1000);
      expect(d.installer.state).toBe('idle');
      expect(d.installer.transfer).toBeUndefined();
      d.powerCycle();
      expect(d.flash.running).toBe(0); // the half-written slot never became the boot partition
      expect(d.events.filter((e) => e.type === 'self-test')).toEqual([]);
      // A new offer is taken, not answered with busy, even with the same seq.
      const [again] = n.push(good, ['bad']);
      expect(again).toMatchObject({ state: 'confirmed' });
      expect(d.flash.runningImage(image.length)).toEqual(image);
    });
  }

  it('the idle timeout fires while a device keeps asking for a block the package does not have', () => {
    const n = net();
    // A device that never gives up (older firmware): it asks for the missing block every 2 s.
    n.device('stuck', { trust, identity, agent: { maxBlockFailures: 1e9 } });
    const [r] = n.push(signedAround(image.subarray(0, 30 * 4096)), ['stuck'], { idleTimeoutMs: 20_000 });
    expect(r).toMatchObject({ state: 'timeout', reason: 1, answered: true });
    expect(r.detail).toContain('made no progress for 20 s');
    expect(r.detail).toContain('block 30, past the end');
    expect(n.now).toBeGreaterThanOrEqual(20_000);
    expect(n.now).toBeLessThan(21_000);
    expect(n.sent.toPusher).toBeGreaterThan(10); // the requests did keep coming
  });
});

describe('a device that does not exist (issue 11 item 8)', () => {
  it('times out naming the device and saying that nothing answered', () => {
    const n = net();
    const [r] = n.push(good, ['ghost-7'], { idleTimeoutMs: 30_000 });
    expect(r).toMatchObject({ state: 'timeout', answered: false });
    expect(r.detail).toBe('no device answered as "ghost-7" within 30 s (is it online, and are the device id and --prefix right?)');
    expect(n.now).toBe(30_000);
  });
});
