// The package verifier and installer on the simulator's engine (xsnap: XS with no crypto at all),
// through the BigInt P-256 verifier: same verdicts as Node for good and bad packages.
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildXsBundle } from '../host/xs/bundle.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { trustStoreJson } from '../protocol/ota/trust.ts';
import { verifyPackage } from '../protocol/ota/policy.ts';
import { nodeVerifier } from '../host/crypto.ts';
import { idBytes, pack } from '../ota/pack.ts';
import { loadFixture, packOptions, reasonOf, release, stranger, trust } from './ota-support.ts';

describe('OTA on the XS engine', () => {
  let worker: XsWorker | undefined;
  afterAll(() => worker?.kill());

  it('verifies and installs packages with the same verdicts as Node', async () => {
    const bundle = await buildXsBundle({
      resolveDir: resolve(import.meta.dirname, '..'),
      source: `
        import { verifyPackage } from './protocol/ota/policy.ts';
        import { parsePackage } from './protocol/ota/package.ts';
        import { OtaInstaller } from './protocol/ota/installer.ts';
        import { OtaError } from './protocol/ota/reasons.ts';
        import { parseTrustStore } from './protocol/ota/trust.ts';
        import { pureVerifier } from './protocol/ota/verifier.ts';
        import { MemoryRecordStore, VirtualFlash } from './sim/virtual-flash.ts';
        import { utf8Encode } from './protocol/utf8.ts';
        const trust = parseTrustStore(${JSON.stringify(trustStoreJson(trust))});
        const reason = (run) => {
          try { run(); return 'ok'; } catch (e) { if (e instanceof OtaError) return e.reason; throw e; }
        };
        globalThis.handleCommand = (ab) => {
          const pkg = new Uint8Array(ab);
          const verify = reason(() => verifyPackage(pkg, trust, pureVerifier));
          // The installer's offer on an XS device of another class: refused before flash.
          const flash = new VirtualFlash();
          const inst = new OtaInstaller({ flash, store: new MemoryRecordStore(), trust, verifier: pureVerifier, device: { vendor: new Uint8Array(16), class: new Uint8Array(16) } });
          inst.boot();
          const offer = reason(() => { const p = parsePackage(pkg); inst.offer(p.envelopeBytes, p.table); });
          return utf8Encode(JSON.stringify({ verify, offer, writes: flash.writes + flash.erases })).buffer;
        };
      `,
    });
    worker = new XsWorker({ name: 'ota-verify' });
    await worker.evaluate(bundle.code);
    const image = loadFixture('esp32-c3');
    const good = pack(image, [release], packOptions);
    const flipped = good.slice();
    flipped[flipped.length - 5] ^= 1;
    const cases = [good, pack(image, [stranger], packOptions), flipped, good.subarray(0, 50)];
    const replies = [];
    for (const pkg of cases) {
      const reply = JSON.parse(new TextDecoder().decode((await worker.issueCommand(pkg)).bytes));
      expect(reply.verify).toBe(reasonOf(() => verifyPackage(pkg, trust, nodeVerifier)));
      replies.push(reply);
    }
    expect(replies).toEqual([
      { verify: 'ok', offer: 'class', writes: 0 },
      { verify: 'signature', offer: 'signature', writes: 0 },
      { verify: 'chunk', offer: 'class', writes: 0 }, // the payload is not in an offer
      { verify: 'truncated', offer: 'truncated', writes: 0 },
    ]);
  }, 60_000);

  it('runs the whole device flow on XS: offer, blocks, whole-image check, reboot, self-test, confirm', async () => {
    const bundle = await buildXsBundle({
      resolveDir: resolve(import.meta.dirname, '..'),
      source: `
        import { OtaAgent } from './protocol/ota/agent.ts';
        import { OtaInstaller } from './protocol/ota/installer.ts';
        import { parsePackage } from './protocol/ota/package.ts';
        import { Topics } from './protocol/topics.ts';
        import { decodeRequest, decodeStatus, encodeBlock, encodeOffer, requestedBlocks } from './protocol/ota/transfer.ts';
        import { parseTrustStore } from './protocol/ota/trust.ts';
        import { pureVerifier } from './protocol/ota/verifier.ts';
        import { MemoryRecordStore, VirtualFlash } from './sim/virtual-flash.ts';
        import { utf8Encode } from './protocol/utf8.ts';
        const trust = parseTrustStore(${JSON.stringify(trustStoreJson(trust))});
        const device = ${JSON.stringify({ vendor: [...idBytes('acme')], class: [...idBytes('sensor-v1')] })};
        globalThis.handleCommand = (ab) => {
          const pkg = parsePackage(new Uint8Array(ab));
          const flash = new VirtualFlash();
          const store = new MemoryRecordStore();
          const topics = new Topics();
          const states = [];
          const power = () => new OtaAgent({
            installer: new OtaInstaller({ flash, store, trust, verifier: pureVerifier, device: { vendor: new Uint8Array(device.vendor), class: new Uint8Array(device.class), deviceId: 'xs1' } }),
            deviceId: 'xs1',
          });
          let agent = power();
          agent.start(0);
          const pending = [];
          const take = (o) => {
            for (const p of o.publish) {
              if (p.topic.endsWith('/status')) states.push(decodeStatus(p.payload).state);
              if (p.topic.endsWith('/req')) pending.push(decodeRequest(p.payload));
            }
            return o;
          };
          let o = take(agent.message(topics.ota('xs1', 'offer'), encodeOffer({ envelope: pkg.envelopeBytes, table: pkg.table }), 0));
          while (pending.length && !o.reboot) {
            const r = pending.shift();
            for (const i of requestedBlocks(r)) {
              o = take(agent.message(topics.ota('xs1', 'block'), encodeBlock({ id: r.id, index: i, data: pkg.payload.subarray(i * 4096, (i + 1) * 4096) }), 0));
              if (o.reboot) break;
            }
          }
          flash.reboot();
          agent = power();
          take(agent.start(1));
          take(agent.selfTest(true, 2));
          return utf8Encode(JSON.stringify({ states, running: flash.running, writes: flash.writes })).buffer;
        };
      `,
    });
    const w = new XsWorker({ name: 'ota-device-flow' });
    try {
      await w.evaluate(bundle.code);
      const image = loadFixture('esp32');
      const reply = JSON.parse(new TextDecoder().decode((await w.issueCommand(pack(image, [release], packOptions))).bytes));
      expect(reply.states[0]).toBe('receiving');
      expect(reply.states.slice(-4)).toEqual(['installing', 'rebooting', 'self-test', 'confirmed']);
      expect(reply).toMatchObject({ running: 1, writes: Math.ceil(image.length / 4096) });
    } finally {
      w.kill();
    }
  }, 60_000);
});
