// `npm run test:moddable`: the firmware built by the real Moddable SDK (MODDABLE), from this
// checkout as it is. The lin build boots in mcsim against a real mosquitto, and the assertions are
// made from the broker's side; the esp32 build's TypeScript, xsc and xsl steps run too. No stand-in
// here: a green run means real mcconfig, real XS and real module resolution agreed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSample } from '../../protocol/telemetry.ts';
import { Topics } from '../../protocol/topics.ts';
import { TestClient } from '../support/clients.ts';
import { Mosquitto } from '../../host/mosquitto.ts';
import { root } from '../support/device-bundle.ts';
import { buildEsp32Xs, buildLin, builtModuleNames, requireSdk, type LinBuild, type Sdk } from '../../host/moddable/sdk.ts';
import { expectedModules, expectPreloaded, withLinRun } from './lin-run.ts';

const DEVICE = 'moddable-ci';
const topics = new Topics('canopy');
const manifest = join(root, 'manifest.json');

/**
 * Exceptions thrown in Canopy's own modules. xsbug breaks on every throw, caught ones included, and
 * the SDK catches some of its own (lin's preference reading a missing file); those are reported,
 * and the broker-side assertions say whether the device still did its job.
 */
function ours(exceptions: string[]): string[] {
  return exceptions.filter((e) => e.includes(root));
}

describe('the firmware on the real Moddable SDK', () => {
  let sdk: Sdk;
  let broker: Mosquitto;
  let lin: LinBuild;

  beforeAll(async () => {
    sdk = requireSdk();
    broker = await new Mosquitto().start();
    lin = await buildLin(sdk, root, { broker: broker.url, deviceId: DEVICE, intervalMs: 1000 });
  }, 600_000);

  afterAll(async () => {
    await broker?.dispose();
  });

  it('the lin build holds exactly the modules the resolution check knows, under the same names', () => {
    expect(builtModuleNames(lin.modulesDir)).toEqual(expectedModules(manifest, 'lin'));
  });

  it('the lin build preloads every Canopy module but those that must load at run time', () => {
    expectPreloaded(manifest, 'lin', lin.makefile);
  });

  it('boots in mcsim: retained online, CBOR telemetry, the will after kill -9, the seq resumes after a restart', async () => {
    await withLinRun(sdk, lin, broker.url, 'moddable-watcher', async ({ xsbug, watcher, mcsim, boot }) => {
      await watcher.subscribe(`canopy/${DEVICE}/#`, 1);
      const samples = () => watcher.received.filter((r) => r.topic === topics.telemetry(DEVICE));
      const statuses = () => watcher.texts(topics.status(DEVICE));
      boot();
      await watcher.until(() => statuses().at(-1) === 'online' && samples().length >= 3, 'online and 3 samples from the lin firmware', 60_000);
      // The retained status as a new subscriber sees it.
      const late = await new TestClient(broker.url, { clientId: 'moddable-late', keepalive: 30 }).connect();
      await late.subscribe(topics.status(DEVICE), 1);
      await late.until(() => late.received.length > 0, 'the retained status', 5_000);
      expect(late.received[0]).toMatchObject({ text: 'online', retain: true });
      await late.driver.stop();

      const firstRun = watcher.events.filter((e) => e.type === 'message' && e.topic === topics.telemetry(DEVICE)).map((e) => (e.type === 'message' ? e.payload : new Uint8Array()));
      for (const payload of firstRun) expect(payload.length).toBeLessThanOrEqual(24);
      const decoded = firstRun.map((p) => decodeSample(p));
      expect(decoded.length).toBeGreaterThanOrEqual(3);
      expect(ours(xsbug.exceptions)).toEqual([]);
      const footprint = xsbug.latest;

      // kill -9: a power cut. The broker fires the will.
      const before = statuses().length;
      await mcsim.kill('SIGKILL');
      await watcher.until(() => statuses().slice(before).includes('offline'), 'the offline will after kill -9', 30_000);

      // Power back on: the sequence number never repeats (reserved in blocks in preference). A
      // sample that was in flight at the kill may come first again, from the flash outbox (QoS 1:
      // at least once); the first new one must have a higher seq than any before the kill.
      const lastSeq = Math.max(...decoded.map((s) => s.seq));
      const seen = samples().length;
      const seqs = () => watcher.events.flatMap((e) => (e.type === 'message' && e.topic === topics.telemetry(DEVICE) ? [decodeSample(e.payload).seq] : []));
      boot();
      await watcher.until(() => seqs().slice(seen).some((q) => q > lastSeq), 'a new sample after the restart', 60_000);
      const afterRestart = seqs().slice(seen);
      const resumed = { seq: afterRestart.find((q) => q > lastSeq)! };
      expect(afterRestart.filter((q) => q <= lastSeq).every((q) => decoded.some((d) => d.seq === q))).toBe(true);
      expect(resumed.seq).toBeGreaterThan(lastSeq);
      expect(ours(xsbug.exceptions)).toEqual([]);

      const report = { exceptions: xsbug.exceptions, samples: decoded.length, sampleBytes: firstRun.map((p) => p.length), lastSeq, resentAfterRestart: afterRestart.filter((q) => q <= lastSeq), resumedSeq: resumed.seq, instruments: footprint, logs: xsbug.logs.slice(0, 40) };
      writeFileSync(join(lin.out, 'report.json'), JSON.stringify(report, null, 2));
      console.log(`test:moddable lin run: ${JSON.stringify(report, null, 2)}`);
    });
  }, 240_000);

  it('esp32: the TypeScript, xsc and xsl steps pass, every Canopy module preloaded, the modules as the check knows them', async () => {
    const esp32 = await buildEsp32Xs(sdk, root);
    expect(builtModuleNames(esp32.modulesDir)).toEqual(expectedModules(manifest, 'esp32'));
    expectPreloaded(manifest, 'esp32', esp32.makefile);
  }, 600_000);
});
