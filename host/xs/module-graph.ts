// The firmware's module graph as XS sees it: every module of a build by its manifest name, its
// runtime imports, and each import resolved by XS's rule — a relative specifier is joined to the
// importer's module NAME, not to its file path. tsc and esbuild resolve by file path, so a graph
// can type-check and bundle and still abort at boot on the device; checkModuleGraph says where.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { createRequire } from 'node:module';
import { readManifestModules, type ManifestModules, type XsPlatform } from './manifest.ts';
import { sdkModulesFor } from './sdk-modules.ts';

export interface ModuleImport {
  specifier: string;
  /** The module name XS looks up, or undefined when the specifier climbs above the root. */
  resolved: string | undefined;
}

export interface GraphModule {
  name: string;
  file: string;
  /** The module as JavaScript (TypeScript transpiled with types erased, as tsc does for mcconfig). */
  js: string;
  imports: ModuleImport[];
}

export interface ModuleGraph {
  platform: XsPlatform;
  manifest: ManifestModules;
  modules: Map<string, GraphModule>;
  /** SDK module names the included manifests provide on this platform. */
  sdk: ReadonlySet<string>;
}

export interface UnresolvedImport {
  /** The importing file, relative to the working directory. */
  file: string;
  importer: string;
  specifier: string;
  /** What XS looked for ("" when the specifier leaves the module namespace). */
  lookedFor: string;
}

/** XS's resolution of `specifier` imported by the module named `referrer`. */
export function resolveXsSpecifier(specifier: string, referrer: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  const parts = referrer.split('/');
  parts.pop();
  for (const part of specifier.split('/')) {
    if (part === '.' || part === '') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  // XS strips a ".js" extension from a module specifier, as mcconfig names modules without one.
  return parts.join('/').replace(/\.js$/, '');
}

// esbuild prints every static import and re-export in one of these forms, so a plain scan of its
// output finds them all; type-only imports are already gone.
const IMPORT_RE = /^\s*(?:import|export)\s*(?:[\w$*{},\s]*?\sfrom\s*)?["']([^"']+)["'];?\s*$/gm;

/** The import specifiers of a module's JavaScript (esbuild output, or a native module's .js). */
export function importSpecifiers(js: string): string[] {
  return [...new Set([...js.matchAll(IMPORT_RE)].map((m) => m[1]))];
}

/**
 * Transpiles one module and lists its runtime import specifiers. A `.js` module is kept as it is:
 * XS's native-function syntax (`function f() @ "xs_f"`) is not JavaScript, so those are scanned
 * for imports without being parsed.
 */
export function compileModule(file: string): { js: string; specifiers: string[] } {
  const source = readFileSync(file, 'utf8');
  const js = file.endsWith('.ts')
    ? esbuild().transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: file }).code
    : source;
  return { js, specifiers: importSpecifiers(js) };
}

// esbuild is loaded on the first compile, not with this module: `canopy sim --help` and the
// V8 engine import the XS driver without compiling anything (issue 12: cold start).
let loaded: typeof import('esbuild') | undefined;
const esbuild = () => (loaded ??= createRequire(import.meta.url)('esbuild') as typeof import('esbuild'));

/** Reads and compiles every module that a build of `manifestPath` for `platform` contains. */
export function loadModuleGraph(manifestPath: string, platform: XsPlatform): ModuleGraph {
  const manifest = readManifestModules(manifestPath, platform);
  const modules = new Map<string, GraphModule>();
  for (const [name, file] of manifest.modules) {
    const { js, specifiers } = compileModule(file);
    modules.set(name, {
      name,
      file,
      js,
      imports: specifiers.map((specifier) => ({ specifier, resolved: resolveXsSpecifier(specifier, name) })),
    });
  }
  return { platform, manifest, modules, sdk: sdkModulesFor(platform, manifest.sdkIncludes) };
}

/** The modules reachable from `entries` (all of the build when omitted, as preload and xsl see it). */
export function reachable(graph: ModuleGraph, entries?: string[]): GraphModule[] {
  if (!entries) return [...graph.modules.values()];
  const seen = new Map<string, GraphModule>();
  const visit = (name: string): void => {
    const mod = graph.modules.get(name);
    if (!mod || seen.has(name)) return;
    seen.set(name, mod);
    for (const i of mod.imports) if (i.resolved) visit(i.resolved);
  };
  entries.forEach(visit);
  return [...seen.values()];
}

/** Every runtime import that XS would fail to find, in the whole build or from `entries`. */
export function checkModuleGraph(graph: ModuleGraph, entries?: string[]): UnresolvedImport[] {
  const failures: UnresolvedImport[] = [];
  for (const mod of reachable(graph, entries)) {
    for (const { specifier, resolved } of mod.imports) {
      if (resolved !== undefined && (graph.modules.has(resolved) || graph.sdk.has(resolved))) continue;
      failures.push({ file: relative(process.cwd(), mod.file), importer: mod.name, specifier, lookedFor: resolved ?? '' });
    }
  }
  return failures;
}

export function describeUnresolved(platform: XsPlatform, u: UnresolvedImport): string {
  const where = u.lookedFor ? `module "${u.lookedFor}", which the ${platform} build does not have` : 'a module above the root of the module namespace';
  return `${u.file} (module "${u.importer}"): import "${u.specifier}" looks for ${where}`;
}
