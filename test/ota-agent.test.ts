// The device agent alone, sans-I/O: messages in, publishes/events/reboot out, as the device app
// will drive it. A loop plays the pusher's part, so every byte the agent asks for is visible.
import { describe, expect, it } from 'vitest';
import { OtaAgent, type AgentOutput } from '../protocol/ota/agent.ts';
import { OtaInstaller } from '../protocol/ota/installer.ts';
import { parsePackage } from '../protocol/ota/package.ts';
import { Topics } from '../protocol/topics.ts';
import { decodeRequest, decodeStatus, encodeBlock, encodeOffer, requestedBlocks, type TransferStatus } from '../protocol/ota/transfer.ts';
import { pureVerifier } from '../protocol/ota/verifier.ts';
import { pack } from '../ota/pack.ts';
import { MemoryRecordStore, VirtualFlash } from '../sim/virtual-flash.ts';
import { deviceContext, loadFixture, packOptions, release, stranger, trust } from './ota-support.ts';

const image = loadFixture('esp32');
const pkg = parsePackage(pack(image, [release], packOptions));
const { installedSeq: _s, now: _n, partitionSize: _p, ...identity } = deviceContext({ deviceId: 'a1' });
const topics = new Topics();
const T = (sub: string) => topics.ota('a1', sub);

class Bench {
  flash = new VirtualFlash();
  store = new MemoryRecordStore();
  agent!: OtaAgent;
  now = 0;
  statuses: TransferStatus[] = [];
  requests: number[][] = [];
  constructor() {
    this.power();
  }
  power(): AgentOutput {
    const installer = new OtaInstaller({ flash: this.flash, store: this.store, trust, verifier: pureVerifier, device: identity });
    this.agent = new OtaAgent({ installer, deviceId: 'a1', window: 8, retryMs: 1000, selfTestMs: 5000 });
    return this.note(this.agent.start(this.now));
  }
  note(o: AgentOutput): AgentOutput {
    for (const p of o.publish) {
      if (p.topic === T('status')) this.statuses.push(decodeStatus(p.payload));
      if (p.topic === T('req')) this.requests.push(requestedBlocks(decodeRequest(p.payload)));
    }
    return o;
  }
  offer(parts = pkg) {
    return this.note(this.agent.message(T('offer'), encodeOffer({ envelope: parts.envelopeBytes, table: parts.table }), this.now));
  }
  /** Answers every outstanding request until the agent asks to reboot or stops asking. */
  serve(o: AgentOutput, damage?: number, lose?: number): AgentOutput {
    let last = o;
    const agentId = (p: AgentOutput) => p.publish.filter((x) => x.topic === T('req')).map((x) => decodeRequest(x.payload));
    let queue = agentId(o);
    while (queue.length && !last.reboot) {
      const r = queue.shift()!;
      for (const i of requestedBlocks(r)) {
        if (i === lose) {
          lose = undefined;
          continue;
        }
        const data = pkg.payload.slice(i * 4096, (i + 1) * 4096);
        if (i === damage) {
          data[0] ^= 1;
          damage = undefined;
        }
        last = this.note(this.agent.message(T('block'), encodeBlock({ id: r.id, index: i, data }), this.now));
        queue.push(...agentId(last));
        if (last.reboot) break;
      }
    }
    return last;
  }
}

describe('OtaAgent', () => {
  it('subscribes to offer and block, verifies before asking, installs, reboots, self-tests and confirms', () => {
    const b = new Bench();
    expect(b.agent.subscriptions()).toEqual([T('offer'), T('block')]);
    const o = b.offer();
    expect(b.statuses[0]).toMatchObject({ state: 'receiving', done: 0, total: 31, seq: 5 });
    expect(b.requests[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const last = b.serve(o);
    expect(last.reboot).toBe(true);
    expect(b.statuses.map((s) => s.state).slice(-2)).toEqual(['installing', 'rebooting']);
    b.flash.reboot();
    const boot = b.power();
    expect(boot.events).toEqual([{ type: 'self-test', seq: 5, deadline: 5000 }]);
    expect(boot.deadline).toBe(5000);
    const ok = b.note(b.agent.selfTest(true, 10));
    expect(ok.events).toEqual([{ type: 'confirmed', seq: 5 }]);
    expect(b.statuses.at(-1)).toMatchObject({ state: 'confirmed', seq: 5, reason: 0 });
    expect(b.agent.duplicates).toBe(0);
  });

  it('refuses a bad offer with its reason code and asks for nothing', () => {
    const b = new Bench();
    const o = b.offer(parsePackage(pack(image, [stranger], packOptions)));
    expect(o.events).toEqual([expect.objectContaining({ type: 'offer-refused', reason: 'signature' })]);
    expect(b.statuses).toEqual([expect.objectContaining({ state: 'refused', reason: 15 })]);
    expect(b.requests).toEqual([]);
    expect(b.flash.erases + b.flash.writes).toBe(0);
  });

  it('drops a damaged block unwritten and asks for it again at once', () => {
    const b = new Bench();
    expect(b.serve(b.offer(), 3).reboot).toBe(true);
    expect(b.requests.flat().filter((i) => i === 3)).toHaveLength(2);
    expect(b.flash.writes).toBe(31);
  });

  it('asks again for a lost block after retryMs of silence', () => {
    const b = new Bench();
    let o = b.serve(b.offer(), undefined, 30);
    expect(o.reboot).toBe(false);
    expect(o.deadline).toBe(1000);
    b.now = 1000;
    o = b.note(b.agent.tick(b.now));
    expect(b.requests.at(-1)).toEqual([30]);
    expect(b.serve(o).reboot).toBe(true);
  });

  it('after a reconnect asks only for blocks it does not have', () => {
    const b = new Bench();
    const o = b.offer();
    // Deliver the first request's blocks only.
    for (const i of b.requests[0]) b.note(b.agent.message(T('block'), encodeBlock({ id: decodeRequest(o.publish.find((p) => p.topic === T('req'))!.payload).id, index: i, data: pkg.payload.slice(i * 4096, (i + 1) * 4096) }), 0));
    b.requests.length = 0;
    b.note(b.agent.connected(5));
    expect(b.requests.flat().every((i) => i >= 8)).toBe(true);
  });

  it('rolls back when the self-test deadline passes, and refuses offers while pending', () => {
    const b = new Bench();
    b.serve(b.offer());
    b.flash.reboot();
    b.power();
    expect(b.offer().events[0]).toMatchObject({ type: 'offer-refused', reason: 'busy' });
    b.now = 5000;
    const o = b.note(b.agent.tick(b.now));
    expect(o.reboot).toBe(true);
    expect(o.events).toEqual([{ type: 'rolled-back', seq: 5 }]);
    expect(b.statuses.at(-1)).toMatchObject({ state: 'rolled-back', detail: 'self-test failed' });
  });

  it('a refill publishes the request before the progress status (a Nagle broker holds the second small message until the first is ACKed)', () => {
    const b = new Bench();
    const o = b.offer();
    const id = decodeRequest(o.publish.find((p) => p.topic === T('req'))!.payload).id;
    let refill: AgentOutput | undefined;
    for (const i of b.requests[0]) {
      const out = b.agent.message(T('block'), encodeBlock({ id, index: i, data: pkg.payload.slice(i * 4096, (i + 1) * 4096) }), 0);
      if (out.publish.length) refill ??= out;
    }
    expect(refill!.publish.map((p) => p.topic)).toEqual([T('req'), T('status')]);
  });

  it('blocks that keep arriving, however slowly, are not silence: nothing is asked twice', () => {
    const b = new Bench(); // retryMs 1000
    const o = b.offer();
    const id = decodeRequest(o.publish.find((p) => p.topic === T('req'))!.payload).id;
    // One block every 900 ms: each arrival pushes the re-ask deadline on.
    for (const i of b.requests[0].slice(0, 3)) {
      b.now += 900;
      const out = b.note(b.agent.tick(b.now));
      expect(out.publish).toEqual([]);
      expect(b.note(b.agent.message(T('block'), encodeBlock({ id, index: i, data: pkg.payload.slice(i * 4096, (i + 1) * 4096) }), b.now)).deadline).toBe(b.now + 1000);
    }
    expect(b.requests.flat().filter((i) => i === 3)).toHaveLength(1);
  });
});
