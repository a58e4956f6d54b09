// Turns a module graph into one script for an xsnap worker that loads the modules as XS modules,
// by their manifest names, in a Compartment whose resolveHook is XS's own rule (a relative
// specifier joined to the importer's module name) and whose module map holds exactly the build's
// modules. So a module the firmware could not find, the simulator cannot find either: the import
// throws `module "…" not found` at load, as the device aborts at boot.
//
// The compartment gets the few host globals device code may use on xsnap (the bridge's
// issueCommand, print as trace, performance.now); anything else a module touches that the device
// lacks is a ReferenceError, as on the board. xsnap calls the real global's handleCommand, so the
// script forwards it to the compartment's (device/platform/xs-bridge.ts installs it there).
import { checkModuleGraph, describeUnresolved, importSpecifiers, loadModuleGraph, reachable, resolveXsSpecifier, type ModuleGraph } from './module-graph.ts';
import { fileURLToPath } from 'node:url';
import type { XsPlatform } from './manifest.ts';

export interface XsProgram {
  /** The script to `evaluate` in a fresh worker. */
  code: string;
  /** UTF-8 size of `code`. */
  bytes: number;
  /** Module names in the program, sorted. */
  modules: string[];
}

export class XsProgramError extends Error {
  override name = 'XsProgramError';
}

export interface XsProgramOptions {
  /** The module to import (by name): the program's entry. */
  entry: string;
  /** Extra modules by name (e.g. a test's probe), as TypeScript or JavaScript source already compiled to JS. */
  extra?: Record<string, string>;
  /**
   * Fail at build time, naming each unresolved import, instead of at load in the worker.
   * Default true; the module-resolution tests turn it off to watch XS itself refuse.
   */
  check?: boolean;
}

/** Builds the program for the modules of `graph` reachable from the entry. */
export function buildXsProgram(graph: ModuleGraph, options: XsProgramOptions): XsProgram {
  const extra = options.extra ?? {};
  const sources: Record<string, string> = { ...extra };
  // An extra module (a test's probe) is not in the graph: what it imports roots the graph beside the entry.
  const extraImports = Object.entries(extra).flatMap(([name, js]) => importSpecifiers(js).map((specifier) => ({ name, specifier, resolved: resolveXsSpecifier(specifier, name) })));
  const roots = [options.entry, ...extraImports.flatMap((i) => (i.resolved && !(i.resolved in extra) ? [i.resolved] : []))];
  for (const mod of reachable(graph, roots)) sources[mod.name] ??= mod.js;
  if (!sources[options.entry]) throw new XsProgramError(`entry module "${options.entry}" is not in the ${graph.platform} build`);
  if (options.check ?? true) {
    const failures = checkModuleGraph(graph, roots).map((u) => describeUnresolved(graph.platform, u));
    for (const i of extraImports) {
      if (i.resolved === undefined || !(i.resolved in sources || graph.sdk.has(i.resolved))) failures.push(`${i.name}: import "${i.specifier}" looks for ${i.resolved ? `module "${i.resolved}", which the ${graph.platform} build does not have` : 'a module above the root of the module namespace'}`);
    }
    if (failures.length) throw new XsProgramError(`the ${graph.platform} module graph does not resolve:\n  ${failures.join('\n  ')}`);
  }
  const code = `(function () {
  const sources = ${JSON.stringify(sources)};
  ${resolveXsSpecifierSource}
  const compartment = new Compartment({
    globals: { print, trace: (s) => print(String(s).replace(/\\n$/, '')), issueCommand, performance, harden: globalThis.harden },
    resolveHook: resolveXsSpecifier,
    loadNowHook(name) {
      const source = sources[name];
      if (source === undefined) throw new ReferenceError('module "' + name + '" not found');
      delete sources[name];
      return { source: new ModuleSource(source) };
    },
  });
  globalThis.handleCommand = (request) => compartment.globalThis.handleCommand(request);
  try {
    compartment.importNow(${JSON.stringify(options.entry)});
  } catch (err) {
    // Thrown out of module loading, XS ends the worker with no message; rethrown from here, the
    // host gets it as the evaluation's error, saying which module is missing.
    throw new Error('the firmware did not load: ' + String(err));
  }
})();
`;
  return { code, bytes: Buffer.byteLength(code), modules: Object.keys(sources).sort() };
}

// The guest resolves with the very function the check uses (module-graph.ts), shipped as source;
// a specifier that climbs above the root has no module name, and XS reports it as not found.
const resolveXsSpecifierSource = `const resolveName = ${resolveXsSpecifier.toString()};
  function resolveXsSpecifier(specifier, referrer) {
    const name = resolveName(specifier, referrer);
    if (name === undefined) throw new ReferenceError('module "' + specifier + '" not found (imported by "' + referrer + '")');
    return name;
  }`;

const cache = new Map<string, Promise<XsProgram>>();

/** The program for `entry` of the `platform` build of `manifestPath`, built once per process. */
export function xsProgram(manifestPath: string, platform: XsPlatform, entry: string): Promise<XsProgram> {
  const key = `${manifestPath}\0${platform}\0${entry}`;
  let p = cache.get(key);
  if (!p) {
    p = Promise.resolve().then(() => buildXsProgram(loadModuleGraph(manifestPath, platform), { entry }));
    cache.set(key, p);
  }
  return p;
}

const repoManifest = fileURLToPath(new URL('../../manifest.json', import.meta.url));

/**
 * The simulated device's firmware for the XS engine: manifest.json's `xsnap` platform, from
 * device/xsnap-main, loaded module by module under the firmware's own module names.
 */
export function simulatorProgram(): Promise<XsProgram> {
  return xsProgram(repoManifest, 'xsnap', 'device/xsnap-main');
}
