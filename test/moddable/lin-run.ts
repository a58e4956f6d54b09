// What the test:moddable suites share: the module checks of a build against the resolution check,
// and one mcsim run of a lin build with a broker-side watcher, xsbug and a virtual display, torn
// down whatever the test does. lin keeps its preference store and outbox ring in one file each per
// machine: a run starts from none, and a developer's own files are put back afterwards.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { loadModuleGraph } from '../../host/xs/module-graph.ts';
import { NOT_PRELOADED, readManifestModules } from '../../host/xs/manifest.ts';
import { Mcsim, preloadedModules, Xvfb, type LinBuild, type Sdk } from '../../host/moddable/sdk.ts';
import { XsbugListener } from '../../host/moddable/xsbug.ts';
import { TestClient } from '../support/clients.ts';

/** lin's preference file, and its outbox ring (device/platform/moddable/file-outbox-area.ts). */
const LIN_FILES = ['/tmp/modpreferences.json', '/tmp/canopy-outbox.bin'];

/** Every module a build of `platform` must contain: ours by manifest name, and the pinned SDK list. */
export function expectedModules(manifest: string, platform: 'esp32' | 'lin'): string[] {
  const graph = loadModuleGraph(manifest, platform);
  return [...new Set([...graph.modules.keys(), ...graph.sdk])].sort();
}

/** Every module of the manifest is preloaded, but those NOT_PRELOADED names with its reason. */
export function expectPreloaded(manifest: string, platform: 'esp32' | 'lin', makefile: string): void {
  const preloaded = new Set(preloadedModules(makefile));
  const ours = [...readManifestModules(manifest, platform).modules.keys()];
  expect(ours.filter((m) => !preloaded.has(m) && !(m in NOT_PRELOADED[platform]))).toEqual([]);
  expect(ours.filter((m) => preloaded.has(m) && m in NOT_PRELOADED[platform])).toEqual([]);
}

export interface LinRun {
  xsbug: XsbugListener;
  display: Xvfb;
  watcher: TestClient;
  mcsim: Mcsim;
  /** Starts (or, after a kill, restarts) the build in mcsim, attached to xsbug. */
  boot(): void;
}

export async function withLinRun(sdk: Sdk, lin: LinBuild, brokerUrl: string, clientId: string, body: (run: LinRun) => Promise<void>): Promise<void> {
  const xsbug = await new XsbugListener().start();
  const display = await new Xvfb().start();
  const watcher = await new TestClient(brokerUrl, { clientId, keepalive: 30 }).connect();
  const mcsim = new Mcsim(sdk, lin.mcso);
  const saved = new Map(LIN_FILES.map((f) => [f, existsSync(f) ? readFileSync(f) : undefined]));
  for (const f of saved.keys()) rmSync(f, { force: true });
  try {
    await body({ xsbug, display, watcher, mcsim, boot: () => mcsim.start(display.display, xsbug.port) });
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
}
