// Reads a Moddable manifest.json the way mcconfig names modules, for the parts that decide the
// module graph: `modules`, `preload`, `include` and the `platforms` section for one platform.
// The resolution check (host/xs/module-graph.ts) and the simulator's XS loader both start from
// here, so the simulator can load exactly the modules a firmware build has, under the same names.
//
// Naming, as mcconfig 8.2.3 does it (tools/mcmanifest.js):
//   "*": ["./device/main"]         -> module "main" (the file's base name)
//   "protocol/*": "./protocol/*"   -> "protocol/<base name>" for every file in that folder (not deeper)
//   "canopy/network": "./x/y"      -> "canopy/network" = x/y.ts (or .js)
// Paths starting with $(MODDABLE) or $(MODULES) are the SDK's: their names come from
// host/xs/sdk-modules.ts, which was read off a real build, because the SDK is not at hand in CI.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Platforms Canopy builds for: the two mcconfig targets, and the simulator's XS engine. */
export type XsPlatform = 'esp32' | 'lin' | 'xsnap';
export const XS_PLATFORMS: readonly XsPlatform[] = ['esp32', 'lin', 'xsnap'];

export interface ManifestModules {
  /** Module name -> absolute path of its .ts or .js source. */
  modules: Map<string, string>;
  /** SDK manifests included (as written, e.g. "$(MODULES)/files/preference/manifest.json"). */
  sdkIncludes: string[];
  /** Preload entries as written (after platform merge). */
  preload: string[];
  /** The manifest files read, the root first. */
  manifests: string[];
}

/** Canopy modules that must not be preloaded, per platform, and why; the tests check every other one is. */
export const NOT_PRELOADED: Record<'esp32' | 'lin', Record<string, string>> = {
  esp32: { main: 'the entry: it starts the app, which needs the network and the pins' },
  lin: {
    main: 'the entry: it starts the app, which needs the network and the pins',
    // Preloading a module preloads what it imports. lin's preference reads its JSON file when it
    // loads: preloaded, it would hold the build machine's file in flash and fail every save
    // afterwards ("TypeError: read only value (in stringify)", seen in mcsim).
    'device/platform/moddable/storage': 'imports preference, which must load at run time on lin',
    'device/platform/moddable/firmware': 'imports device/platform/moddable/storage (preloading it would preload that too)',
  },
};

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const SOURCE_EXTENSIONS = ['.ts', '.js'];
const isSdkPath = (p: string): boolean => p.startsWith('$(');

interface RawManifest {
  include?: string | string[];
  modules?: Record<string, string | string[]>;
  preload?: string | string[];
  platforms?: Record<string, RawManifest & { error?: string }>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The modules that `mcconfig -p PLATFORM` would build from `manifestPath` (SDK modules aside). */
export function readManifestModules(manifestPath: string, platform: XsPlatform): ManifestModules {
  const out: ManifestModules = { modules: new Map(), sdkIncludes: [], preload: [], manifests: [] };
  readOne(resolve(manifestPath), platform, out);
  return out;
}

function readOne(path: string, platform: XsPlatform, out: ManifestModules): void {
  if (out.manifests.includes(path)) return;
  let raw: RawManifest;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as RawManifest;
  } catch (err) {
    throw new ManifestError(`cannot read manifest ${path}: ${(err as Error).message}`);
  }
  out.manifests.push(path);
  const dir = dirname(path);
  const parts: RawManifest[] = [raw];
  const chosen = raw.platforms ? matchPlatform(raw.platforms, platform) : undefined;
  if (chosen?.error) throw new ManifestError(`${path}: platform ${platform}: ${chosen.error}`);
  if (chosen) parts.push(chosen);
  for (const part of parts) {
    for (const inc of list(part.include)) {
      if (isSdkPath(inc)) out.sdkIncludes.push(inc);
      else readOne(resolve(dir, inc), platform, out);
    }
    for (const [key, value] of Object.entries(part.modules ?? {})) addModules(key, list(value), dir, path, out.modules);
    out.preload.push(...list(part.preload));
  }
}

// mcconfig matches the platform name exactly (or a prefix of a sub-platform such as esp32/nodemcu),
// and falls back to "..." when nothing else matches.
function matchPlatform(platforms: NonNullable<RawManifest['platforms']>, platform: string): (RawManifest & { error?: string }) | undefined {
  return platforms[platform] ?? platforms['...'];
}

function addModules(key: string, paths: string[], dir: string, manifest: string, into: Map<string, string>): void {
  for (const p of paths) {
    if (isSdkPath(p)) continue;
    const abs = resolve(dir, p);
    if (p.endsWith('/*')) {
      const folder = abs.slice(0, -2);
      if (!existsSync(folder)) throw new ManifestError(`${manifest}: "${key}": folder ${p} does not exist`);
      const prefix = key === '*' ? '' : key.endsWith('/*') ? key.slice(0, -1) : `${key}/`;
      for (const entry of readdirSync(folder).sort()) {
        const ext = SOURCE_EXTENSIONS.find((e) => entry.endsWith(e) && !entry.endsWith('.d.ts'));
        if (ext) into.set(prefix + basename(entry, ext), join(folder, entry));
      }
      continue;
    }
    const file = SOURCE_EXTENSIONS.map((e) => abs + e).find((f) => existsSync(f));
    if (!file) {
      // A native-only entry (C sources, headers) names no script module.
      if (['.c', '.h'].some((e) => existsSync(abs + e))) continue;
      throw new ManifestError(`${manifest}: "${key}": ${p} has no .ts or .js file`);
    }
    const name = key === '*' ? basename(abs) : key.endsWith('/*') ? key.slice(0, -1) + basename(abs) : key;
    // A later entry (or the platform section) overrides an earlier one, as in mcconfig.
    into.set(name, file);
  }
}
