// `npm run test:moddable`, third app: one that `canopy new` scaffolds, built by the real Moddable
// SDK's mcconfig for lin from the scaffold's own manifest (which includes manifest_sdk.json by a
// path relative to the app, and the DHT22 and relay drivers), booted in mcsim against a real
// mosquitto: its declared telemetry arrives with its schema id, and its heater rule switches the
// relay on by itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModuleGraph } from '../../host/xs/module-graph.ts';
import { NOT_PRELOADED, readManifestModules } from '../../host/xs/manifest.ts';
import { schemaIdOfPayload } from '../../protocol/telemetry-schema.ts';
import { Topics } from '../../protocol/topics.ts';
import { TestClient } from '../support/clients.ts';
import { Mosquitto } from '../../host/mosquitto.ts';
import { root } from '../support/device-bundle.ts';
import { buildLin, builtModuleNames, Mcsim, preloadedModules, requireSdk, Xvfb, type LinBuild, type Sdk } from '../../host/moddable/sdk.ts';
import { XsbugListener } from '../../host/moddable/xsbug.ts';
import { loadSimApp, type SimApp } from '../../sim/app.ts';

const DEVICE = 'probe-ci';
const topics = new Topics('canopy');
const LIN_FILES = ['/tmp/modpreferences.json', '/tmp/canopy-outbox.bin'];

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
    const graph = loadModuleGraph(manifest, 'lin');
    expect(builtModuleNames(lin.modulesDir)).toEqual([...new Set([...graph.modules.keys(), ...graph.sdk])].sort());
    const preloaded = new Set(preloadedModules(lin.makefile));
    const ours = [...readManifestModules(manifest, 'lin').modules.keys()];
    expect(ours.filter((m) => !preloaded.has(m) && !(m in NOT_PRELOADED.lin))).toEqual([]);
  });

  it('boots in mcsim: its declared telemetry, and the heater rule drives the relay', async () => {
    const xsbug = await new XsbugListener().start();
    const display = await new Xvfb().start();
    const watcher = await new TestClient(broker.url, { clientId: 'probe-watcher', keepalive: 30 }).connect();
    const mcsim = new Mcsim(sdk, lin.mcso);
    const saved = new Map(LIN_FILES.map((f) => [f, existsSync(f) ? readFileSync(f) : undefined]));
    for (const f of saved.keys()) rmSync(f, { force: true });
    try {
      await watcher.subscribe(`canopy/${DEVICE}/#`, 1);
      const telemetry = declared.telemetry;
      const payloads = () => watcher.events.flatMap((e) => (e.type === 'message' && e.topic === topics.telemetry(DEVICE) ? [e.payload] : []));
      const samples = () => payloads().map((p) => telemetry.decode(p));
      mcsim.start(display.display, xsbug.port);
      await watcher.until(() => watcher.texts(topics.status(DEVICE)).at(-1) === 'online' && samples().some((s) => s.heater === true), 'online and a sample with the heater switched on by the rule', 60_000);
      for (const p of payloads()) expect(schemaIdOfPayload(p)).toBe(telemetry.id);
      expect(samples()[0]).toMatchObject({ heater: false, temperature: expect.any(Number), humidity: 70 });
      expect(xsbug.exceptions.filter((e) => e.includes(root) || e.includes(app))).toEqual([]);
      const report = { samples: samples().length, schema: telemetry.id, first: samples()[0], last: samples().at(-1), logs: xsbug.logs.slice(0, 20) };
      writeFileSync(join(lin.out, 'report.json'), JSON.stringify(report, null, 2));
      console.log(`test:moddable scaffold lin run: ${JSON.stringify(report, null, 2)}`);
    } finally {
      for (const [f, bytes] of saved) {
        if (bytes) writeFileSync(f, bytes);
        else rmSync(f, { force: true });
      }
      await mcsim.kill('SIGKILL');
      mcsim.dispose();
      await watcher.driver.stop();
      display.stop();
      await xsbug.stop();
    }
  }, 240_000);
});
