// A device app for the simulator (`canopy sim --app DIR`): its manifest (main, its modules, the
// SDK's), its telemetry declaration and its simulator config (DIR/sim.json: a sensor model per
// field, sim/field-models.ts). On the XS engine the app's own module graph loads by manifest name
// (the manifest's xsnap platform: manifest_sdk.json maps device/platform/moddable/firmware to the
// simulator's runner, the app names its simulated hardware); on V8 the same graph is bundled by
// module name and main's runFirmware(makeApp) hands over its makeApp.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { loadModuleGraph, resolveXsSpecifier, type ModuleGraph } from '../host/xs/module-graph.ts';
import { buildXsProgram, XsProgramError } from '../host/xs/program.ts';
import { ManifestError } from '../host/xs/manifest.ts';
import { Telemetry } from '../protocol/telemetry-schema.ts';
import type { DeviceAppDefinition } from '../device/app/app-definition.ts';
import { objectSource, resolveConfig, type ConfigSource, type DeviceConfig } from '../device/config.ts';
import type { DeviceClock, LogLevel } from '../device/platform/types.ts';
import { parseSimConfig, SimConfigError, type SimConfig } from './field-models.ts';

/** What runFirmware hands an app's makeApp (device/platform/moddable/firmware.ts, xsnap-firmware.ts). */
export interface FirmwareContext {
  settings: DeviceConfig;
  config: ConfigSource;
  clock: DeviceClock;
  log(level: LogLevel, message: string): void;
}

export type MakeApp = (context: FirmwareContext) => DeviceAppDefinition;

export interface SimApp {
  dir: string;
  manifest: string;
  /** The manifest's config section: the app's own keys (fanOnC, ...) reach the simulated devices too. */
  config: Record<string, unknown>;
  /** The app's declaration, as the host decodes it. */
  telemetry: Telemetry;
  sim: SimConfig;
  /** The XS engine's program: the app's modules by manifest name, from "main". */
  xsCode(): string;
  /** V8: the app's makeApp. */
  makeApp: MakeApp;
}

export class SimAppError extends Error {
  override name = 'SimAppError';
}


export async function loadSimApp(dirArg: string): Promise<SimApp> {
  const dir = resolve(dirArg);
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(dir)) throw new SimAppError(`--app ${dirArg}: no such folder`);
  if (!existsSync(manifest)) throw new SimAppError(`--app ${dirArg}: no manifest.json in that folder (an app has one: canopy new NAME scaffolds it)`);
  let raw: { config?: Record<string, unknown> };
  try {
    raw = JSON.parse(readFileSync(manifest, 'utf8')) as typeof raw;
  } catch (err) {
    throw new SimAppError(`${manifest}: not JSON: ${(err as Error).message}`);
  }
  let graph: ModuleGraph;
  try {
    graph = loadModuleGraph(manifest, 'xsnap');
  } catch (err) {
    if (err instanceof ManifestError) throw new SimAppError(err.message);
    throw new SimAppError(`${manifest}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!graph.modules.has('main')) throw new SimAppError(`${manifest}: no module "main" (the app's entry: "modules": {"*": ["./main"]})`);
  let code: string | undefined;
  const xsCode = () => {
    try {
      return (code ??= buildXsProgram(graph, { entry: 'main' }).code);
    } catch (err) {
      if (err instanceof XsProgramError) throw new SimAppError(`${err.message}\n  (the simulator builds the manifest's "xsnap" platform: name the app's simulated hardware modules there, as examples/greenhouse/manifest.json does)`);
      throw err;
    }
  };
  xsCode();
  const makeApp = await bundleForNode(graph);
  // The declaration, from the app itself: made once with a throwaway context, then let go.
  // OTA keys stay out: the simulator's devices take updates only with --ota-trust (which sets them).
  const { otaVendor: _v, otaClass: _c, otaTrust: _t, ...config } = raw.config ?? {};
  const probe = makeApp(probeContext(config));
  const telemetry = new Telemetry(probe.telemetry.declaration);
  probe.stop?.();
  const simFile = join(dir, 'sim.json');
  let simRaw: unknown;
  if (existsSync(simFile)) {
    try {
      simRaw = JSON.parse(readFileSync(simFile, 'utf8'));
    } catch (err) {
      throw new SimAppError(`${simFile}: not JSON: ${(err as Error).message}`);
    }
  }
  let sim: SimConfig;
  try {
    sim = parseSimConfig(simRaw, telemetry, 'sim.json');
  } catch (err) {
    if (err instanceof SimConfigError) throw new SimAppError(`${simFile}: ${err.message}`);
    throw err;
  }
  return { dir, manifest, config, telemetry, sim, xsCode, makeApp };
}

function probeContext(config: Record<string, unknown>): FirmwareContext {
  const source = objectSource({ deviceId: 'probe', broker: 'mqtt://127.0.0.1:1883', ...config });
  return {
    settings: resolveConfig(source, undefined),
    config: source,
    clock: { now: () => 0, unixTime: () => 0, setTimer: () => 0, clearTimer: () => {} },
    log: () => {},
  };
}

const CAPTURE = `let made; export function runFirmware(makeApp) { made = makeApp; return undefined; } export function captured() { return made; }`;

/**
 * The app's graph as one ES module for V8, resolved by XS names (so it loads exactly what the
 * firmware would), with the firmware runner replaced by one that keeps makeApp.
 */
async function bundleForNode(graph: ModuleGraph): Promise<MakeApp> {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const nameOf = new Map<string, string>();
  for (const m of graph.modules.values()) nameOf.set(m.file, m.name);
  const result = await esbuild.build({
    stdin: { contents: `import { captured } from 'canopy:capture'; import 'main'; export const makeApp = captured();`, loader: 'js', resolveDir: '/' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [
      {
        name: 'xs-names',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (args.path === 'canopy:capture') return { path: 'capture', namespace: 'canopy' };
            const importer = args.importer ? nameOf.get(args.importer) ?? '' : '';
            const name = resolveXsSpecifier(args.path, importer);
            if (name === 'device/platform/moddable/firmware') return { path: 'capture', namespace: 'canopy' };
            const mod = name === undefined ? undefined : graph.modules.get(name);
            if (!mod) return { errors: [{ text: `module "${name ?? args.path}" (imported by "${importer}") is not in the app's xsnap build` }] };
            return { path: mod.file };
          });
          build.onLoad({ filter: /.*/, namespace: 'canopy' }, () => ({ contents: CAPTURE, loader: 'js' }));
        },
      },
    ],
  }).catch((err: { errors?: { text: string }[] }) => {
    throw new SimAppError(`the app does not bundle for the V8 engine: ${err.errors?.map((e) => e.text).join('; ') ?? String(err)}`);
  });
  const js = result.outputFiles[0].text;
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)) as { makeApp?: MakeApp };
  if (typeof mod.makeApp !== 'function') throw new SimAppError('the app\'s main did not call runFirmware(makeApp)');
  return mod.makeApp;
}
