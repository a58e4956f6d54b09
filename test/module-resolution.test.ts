// The firmware's module graph resolves as XS resolves it. mcconfig names modules by the manifest's
// keys and XS joins a relative specifier to the importer's module NAME; tsc and esbuild resolve by
// file path, so only this check (and a real build, npm run test:moddable) sees a firmware that
// type-checks and then aborts at boot with `module "…" not found`.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOT_PRELOADED, readManifestModules, XS_PLATFORMS } from '../host/xs/manifest.ts';
import { checkModuleGraph, describeUnresolved, loadModuleGraph, resolveXsSpecifier } from '../host/xs/module-graph.ts';
import { buildXsProgram } from '../host/xs/program.ts';
import { SDK_BUILDS, sdkModulesFor } from '../host/xs/sdk-modules.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { root } from './support/device-bundle.ts';

const manifest = join(root, 'manifest.json');
const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the firmware sources where one file is changed, to watch the check catch it. */
function plantedCopy(file: string, edit: (source: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-modules-'));
  scratch.push(dir);
  for (const part of ['manifest.json', 'manifest_sdk.json', 'protocol', 'device']) cpSync(join(root, part), join(dir, part), { recursive: true });
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
  return join(dir, 'manifest.json');
}

describe('XS module resolution', () => {
  it('joins relative specifiers to the module name, as XS does', () => {
    expect(resolveXsSpecifier('./connection', 'canopy/network')).toBe('canopy/connection');
    expect(resolveXsSpecifier('../../drivers/dht22', 'canopy/sensors')).toBeUndefined();
    expect(resolveXsSpecifier('../protocol/ota/verifier', 'main')).toBeUndefined();
    expect(resolveXsSpecifier('../../protocol/utf8', 'device/app/device-app')).toBe('protocol/utf8');
    expect(resolveXsSpecifier('./outbox.js', 'protocol/session/session')).toBe('protocol/session/outbox');
    expect(resolveXsSpecifier('timer', 'main')).toBe('timer');
  });

  it.each(['esp32', 'lin'] as const)('every runtime import of the %s build names a module of that build', (platform) => {
    const graph = loadModuleGraph(manifest, platform);
    expect(graph.modules.get('main')?.file).toBe(join(root, 'device', 'main.ts'));
    expect(checkModuleGraph(graph).map((u) => describeUnresolved(platform, u))).toEqual([]);
  });

  it.each(['esp32', 'lin'] as const)('every runtime import of examples/greenhouse (an app on manifest_sdk.json) resolves on %s', (platform) => {
    const graph = loadModuleGraph(join(root, 'examples', 'greenhouse', 'manifest.json'), platform);
    expect(graph.modules.get('main')?.file).toBe(join(root, 'examples', 'greenhouse', 'main.ts'));
    expect(graph.modules.get('greenhouse/hardware')?.file).toBe(join(root, 'examples', 'greenhouse', platform === 'esp32' ? 'hardware-esp32.ts' : 'hardware-sim.ts'));
    // Only the drivers it includes: no PIR, no LDR.
    expect([...graph.modules.keys()].filter((m) => m.startsWith('device/drivers/')).sort()).toEqual(
      platform === 'esp32'
        ? ['device/drivers/errors', 'device/drivers/io', 'device/drivers/outputs/relay/memory-output', 'device/drivers/outputs/relay/relay', 'device/drivers/sensors/bh1750/bh1750', 'device/drivers/sensors/dht22/dht22', 'device/drivers/sensors/dht22/dht22-frame']
        : ['device/drivers/errors', 'device/drivers/io', 'device/drivers/outputs/relay/memory-output', 'device/drivers/outputs/relay/relay'],
    );
    expect(checkModuleGraph(graph).map((u) => describeUnresolved(platform, u))).toEqual([]);
  });

  it('every runtime import of the simulator firmware (xsnap, from device/xsnap-main) resolves', () => {
    const graph = loadModuleGraph(manifest, 'xsnap');
    expect(checkModuleGraph(graph, ['device/xsnap-main']).map((u) => describeUnresolved('xsnap', u))).toEqual([]);
  });

  it('names the file, the specifier and the module looked for when an import would not resolve', () => {
    const broken = plantedCopy('device/main.ts', (s) => s.replace("from 'device/sensor-node/app'", "from '../device/sensor-node/app'"));
    const sensors = plantedCopy('device/platform/moddable/esp32-sensors.ts', (s) => s.replace("from 'device/drivers/sensors/ldr/ldr'", "from './ldr'"));
    const system = plantedCopy('device/platform/moddable/firmware.ts', (s) => `import System from 'embedded:io/system';\n${s}`);
    expect(checkModuleGraph(loadModuleGraph(broken, 'lin')).map((u) => describeUnresolved('lin', u))).toEqual([
      'device/main.ts (module "main"): import "../device/sensor-node/app" looks for a module above the root of the module namespace',
    ].map((m) => expect.stringContaining(m.replace('device/main.ts', 'main.ts'))));
    expect(checkModuleGraph(loadModuleGraph(sensors, 'esp32')).map((u) => describeUnresolved('esp32', u))).toEqual([
      expect.stringMatching(/esp32-sensors\.ts \(module "canopy\/sensors"\): import "\.\/ldr" looks for module "canopy\/ldr", which the esp32 build does not have$/),
    ]);
    // The typings declare embedded:io/system, but no build has it: System is a global.
    for (const platform of ['esp32', 'lin'] as const) {
      expect(checkModuleGraph(loadModuleGraph(system, platform)).map((u) => u.lookedFor)).toEqual(['embedded:io/system']);
    }
  });

  it('the XS engine itself refuses the same import when the simulator loads the modules', async () => {
    const broken = plantedCopy('device/xsnap-main.ts', (s) => s.replace("from './app/device-app'", "from './device-app'"));
    const graph = loadModuleGraph(broken, 'xsnap');
    expect(checkModuleGraph(graph, ['device/xsnap-main']).map((u) => u.lookedFor)).toEqual(['device/device-app']);
    expect(() => buildXsProgram(graph, { entry: 'device/xsnap-main' })).toThrow(/import "\.\/device-app" looks for module "device\/device-app"/);
    const program = buildXsProgram(graph, { entry: 'device/xsnap-main', check: false });
    const worker = new XsWorker({ name: 'modules-broken' });
    try {
      await expect(worker.evaluate(program.code)).rejects.toThrow(/the firmware did not load: ReferenceError: module "device\/device-app" not found/);
    } finally {
      // XS ends the worker after a failed module load, as the device aborts at boot.
      await worker.kill();
    }
  });

  it('a probe module beside the graph is checked for its own imports too', () => {
    const graph = loadModuleGraph(manifest, 'xsnap');
    const ok = buildXsProgram(graph, { entry: 'test/probe', extra: { 'test/probe': 'import { utf8Encode } from "protocol/utf8";\nexport const x = utf8Encode;' } });
    expect(ok.modules).toContain('protocol/utf8');
    expect(ok.modules).not.toContain('protocol/session/session');
    expect(() => buildXsProgram(graph, { entry: 'test/probe', extra: { 'test/probe': 'import "../../protocol/utf8";' } })).toThrow(/test\/probe: import "..\/..\/protocol\/utf8" looks for a module above the root/);
    expect(() => buildXsProgram(graph, { entry: 'test/probe', extra: { 'test/probe': 'import "timer2";' } })).toThrow(/module "timer2", which the xsnap build does not have/);
  });

  it('the simulator firmware loads on XS from its module map alone', async () => {
    const program = buildXsProgram(loadModuleGraph(manifest, 'xsnap'), { entry: 'device/xsnap-main' });
    expect(program.modules).toContain('protocol/session/session');
    expect(program.modules).not.toContain('main');
    // The firmware's own clock and settings modules, over stand-ins that carry the SDK's names.
    expect(program.modules).toEqual(expect.arrayContaining(['device/platform/moddable/clock', 'device/platform/moddable/storage', 'timer', 'time', 'preference']));
    const xsnap = readManifestModules(manifest, 'xsnap').modules;
    expect(['timer', 'time', 'preference'].map((name) => xsnap.get(name))).toEqual(['timer', 'time', 'preference'].map((name) => join(root, 'device/platform/xsnap/sdk', `${name}.ts`)));
    const worker = new XsWorker({ name: 'modules-ok' });
    try {
      await worker.evaluate(program.code);
    } finally {
      await worker.close();
    }
  });
});

describe('preload', () => {
  // mcconfig 8.2.3's filterPreload matches a wildcard against .js modules only: a .ts module is
  // preloaded only when named, so a wildcard preload entry silently preloads nothing.
  it.each([
    ['esp32', 'manifest.json'],
    ['lin', 'manifest.json'],
    ['esp32', 'examples/greenhouse/manifest.json'],
    ['lin', 'examples/greenhouse/manifest.json'],
  ] as const)('names every Canopy module of the %s build of %s one by one, but those that must load at run time', (platform, file) => {
    const m = readManifestModules(join(root, file), platform);
    expect(m.preload.filter((p) => p.includes('*'))).toEqual([]);
    const ours = [...m.modules.keys()].filter((name) => !(name in NOT_PRELOADED[platform]));
    expect(ours.filter((name) => !m.preload.includes(name))).toEqual([]);
    expect(m.preload.filter((name) => !m.modules.has(name))).toEqual([]);
  });
});

describe('SDK modules', () => {
  it.each(['esp32', 'lin'] as const)('the %s list was read off a build with the same SDK includes as manifest.json', (platform) => {
    const m = readManifestModules(manifest, platform);
    expect(() => sdkModulesFor(platform, m.sdkIncludes)).not.toThrow();
    expect([...new Set(m.sdkIncludes)].sort()).toEqual([...SDK_BUILDS[platform].includes].sort());
  });

  it('refuses to guess when the includes change', () => {
    expect(() => sdkModulesFor('lin', ['$(MODULES)/network/mqtt/manifest.json'])).toThrow(/read off a build with/);
  });

  it('the simulator platform has no SDK modules at all', () => {
    expect(XS_PLATFORMS).toContain('xsnap');
    expect(sdkModulesFor('xsnap', []).size).toBe(0);
  });
});
