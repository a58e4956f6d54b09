// `npm run test:moddable`, second app: examples/greenhouse, built by the real Moddable SDK from
// its own manifest (which includes the SDK's, manifest_sdk.json, and the drivers it uses). The lin
// build boots in mcsim against a real mosquitto; from the broker's side: its declared telemetry
// (schema id in every sample), the edge rule switching the fan on by itself, a set-output command
// overriding it, and the info record naming the same schema. The esp32 build's TypeScript, xsc
// and xsl steps run too, with the DHT22, BH1750 and relay drivers on real ECMA-419 IO.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCommand } from '../../protocol/commands.ts';
import { decodeInfo } from '../../protocol/info.ts';
import { schemaIdOfPayload } from '../../protocol/telemetry-schema.ts';
import { Topics } from '../../protocol/topics.ts';
import { Mosquitto } from '../../host/mosquitto.ts';
import { root } from '../support/device-bundle.ts';
import { buildEsp32Xs, buildLin, builtModuleNames, requireSdk, type LinBuild, type Sdk } from '../../host/moddable/sdk.ts';
import { GREENHOUSE_TELEMETRY } from '../../examples/greenhouse/telemetry.ts';
import { expectedModules, expectPreloaded, withLinRun } from './lin-run.ts';

const DEVICE = 'greenhouse-ci';
const topics = new Topics('canopy');
const app = join(root, 'examples', 'greenhouse');
const manifest = join(app, 'manifest.json');

describe('examples/greenhouse on the real Moddable SDK', () => {
  let sdk: Sdk;
  let broker: Mosquitto;
  let lin: LinBuild;

  beforeAll(async () => {
    sdk = requireSdk();
    broker = await new Mosquitto().start();
    // A set point below any temperature the model gives: the rule must turn the fan on by itself.
    lin = await buildLin(sdk, app, { broker: broker.url, deviceId: DEVICE, intervalMs: 1000, fanOnC: -30, fanOffC: -35, fanMinMs: 0 });
    // mcconfig runs tsc once per module: on a loaded 2-core machine the lin build alone took over 10 minutes.
  }, 1_500_000);

  afterAll(async () => {
    await broker?.dispose();
  });

  it('the lin build holds exactly the modules the resolution check knows, every one preloaded but main', () => {
    expect(builtModuleNames(lin.modulesDir)).toEqual(expectedModules(manifest, 'lin'));
    expectPreloaded(manifest, 'lin', lin.makefile);
  });

  it('boots in mcsim: declared telemetry, the rule drives the fan, a command overrides it, info names the schema', async () => {
    await withLinRun(sdk, lin, broker.url, 'greenhouse-watcher', async ({ xsbug, watcher, boot }) => {
      await watcher.subscribe(`canopy/${DEVICE}/#`, 1);
      const payloads = () => watcher.events.flatMap((e) => (e.type === 'message' && e.topic === topics.telemetry(DEVICE) ? [e.payload] : []));
      const samples = () => payloads().map((p) => GREENHOUSE_TELEMETRY.decode(p));
      boot();
      await watcher.until(() => watcher.texts(topics.status(DEVICE)).at(-1) === 'online' && samples().some((s) => s.fan === true), 'online and a sample with the fan switched on by the rule', 60_000);
      for (const p of payloads()) {
        expect(schemaIdOfPayload(p)).toBe(GREENHOUSE_TELEMETRY.id);
        expect(p.length).toBeLessThanOrEqual(GREENHOUSE_TELEMETRY.maxBytes);
      }
      expect(samples()[0]).toMatchObject({ fan: false, manual: false });
      expect(samples().find((s) => s.fan)).toMatchObject({ manual: false, temperature: expect.any(Number) });

      // A technician stops the fan: the command holds it off against the rule, reported at once.
      const seen = samples().length;
      watcher.driver.publish(topics.commands(DEVICE), encodeCommand({ kind: 'set-output', output: 0, on: false }), { qos: 1 });
      await watcher.until(() => samples().slice(seen).some((s) => s.manual === true && s.fan === false), 'a sample with the fan held off by the command', 30_000);
      const held = samples().length;
      await watcher.until(() => samples().length >= held + 2, 'two more samples', 30_000);
      expect(samples().slice(held).every((s) => s.fan === false && s.manual === true)).toBe(true);
      // Handed back: the rule turns it on again.
      watcher.driver.publish(topics.commands(DEVICE), encodeCommand({ kind: 'set-output', output: 0, on: null }), { qos: 1 });
      const back = samples().length;
      await watcher.until(() => samples().slice(back).some((s) => s.manual === false && s.fan === true), 'the rule in charge again', 30_000);

      const info = watcher.events.flatMap((e) => (e.type === 'message' && e.topic === topics.info(DEVICE) ? [decodeInfo(e.payload)] : []));
      expect(info.at(-1)?.schema).toBe(GREENHOUSE_TELEMETRY.id);
      expect(xsbug.exceptions.filter((e) => e.includes(root))).toEqual([]);
      const report = { samples: samples().length, sampleBytes: [...new Set(payloads().map((p) => p.length))], schema: GREENHOUSE_TELEMETRY.id, last: samples().at(-1), instruments: xsbug.latest, logs: xsbug.logs.slice(0, 30) };
      writeFileSync(join(lin.out, 'report.json'), JSON.stringify(report, null, 2));
      console.log(`test:moddable greenhouse lin run: ${JSON.stringify(report, null, 2)}`);
    });
  }, 240_000);

  it('esp32: the TypeScript, xsc and xsl steps pass with the drivers, the modules as the check knows them', async () => {
    const esp32 = await buildEsp32Xs(sdk, app);
    expect(builtModuleNames(esp32.modulesDir)).toEqual(expectedModules(manifest, 'esp32'));
    expectPreloaded(manifest, 'esp32', esp32.makefile);
  }, 1_500_000);
});
