// `npm run test:moddable`, third app: one that `canopy new` scaffolds, built by the real Moddable
// SDK's mcconfig for lin from the scaffold's own manifest (which includes manifest_sdk.json by a
// path relative to the app, and the DHT22 and relay drivers), booted in mcsim against a real
// mosquitto: its declared telemetry arrives with its schema id, and its heater rule switches the
// relay on by itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaIdOfPayload } from '../../protocol/telemetry-schema.ts';
import { Topics } from '../../protocol/topics.ts';
import { Mosquitto } from '../../host/mosquitto.ts';
import { root } from '../support/device-bundle.ts';
import { buildLin, builtModuleNames, requireSdk, type LinBuild, type Sdk } from '../../host/moddable/sdk.ts';
import { loadSimApp, type SimApp } from '../../sim/app.ts';
import { expectedModules, expectPreloaded, withLinRun } from './lin-run.ts';

const DEVICE = 'probe-ci';
const topics = new Topics('canopy');

describe('a canopy new app on the real Moddable SDK', () => {
  let sdk: Sdk;
  let broker: Mosquitto;
  let lin: LinBuild;
  let work: string;
  let app: string;
  let declared: SimApp;

  beforeAll(async () => {
    sdk = requireSdk();
    work = mkdtempSync(join(tmpdir(), 'canopy-scaffold-'));
    const made = spawnSync(process.execPath, [join(root, 'bin/canopy.js'), 'new', 'probe'], { cwd: work, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`canopy new failed: ${made.stderr}`);
    app = join(work, 'probe');
    declared = await loadSimApp(app);
    broker = await new Mosquitto().start();
    // A set point above any temperature the model gives: the rule must turn the heater on by itself.
    lin = await buildLin(sdk, app, { broker: broker.url, deviceId: DEVICE, intervalMs: 1000, heaterOnC: 50, heaterOffC: 60 });
  }, 1_500_000);

  afterAll(async () => {
    await broker?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the lin build holds exactly the modules the resolution check knows, every one preloaded but main', () => {
    const manifest = join(app, 'manifest.json');
    expect(builtModuleNames(lin.modulesDir)).toEqual(expectedModules(manifest, 'lin'));
    expectPreloaded(manifest, 'lin', lin.makefile);
  });

  it('boots in mcsim: its declared telemetry, and the heater rule drives the relay', async () => {
    await withLinRun(sdk, lin, broker.url, 'probe-watcher', async ({ xsbug, watcher, boot }) => {
      await watcher.subscribe(`canopy/${DEVICE}/#`, 1);
      const telemetry = declared.telemetry;
      const payloads = () => watcher.events.flatMap((e) => (e.type === 'message' && e.topic === topics.telemetry(DEVICE) ? [e.payload] : []));
      const samples = () => payloads().map((p) => telemetry.decode(p));
      boot();
      await watcher.until(() => watcher.texts(topics.status(DEVICE)).at(-1) === 'online' && samples().some((s) => s.heater === true), 'online and a sample with the heater switched on by the rule', 60_000);
      for (const p of payloads()) expect(schemaIdOfPayload(p)).toBe(telemetry.id);
      expect(samples()[0]).toMatchObject({ heater: false, temperature: expect.any(Number), humidity: 70 });
      expect(xsbug.exceptions.filter((e) => e.includes(root) || e.includes(app))).toEqual([]);
      const report = { samples: samples().length, schema: telemetry.id, first: samples()[0], last: samples().at(-1), logs: xsbug.logs.slice(0, 20) };
      writeFileSync(join(lin.out, 'report.json'), JSON.stringify(report, null, 2));
      console.log(`test:moddable scaffold lin run: ${JSON.stringify(report, null, 2)}`);
    });
  }, 240_000);
});
