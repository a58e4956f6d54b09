// Bundles device-side TypeScript into one script for an XS worker's `evaluate`. One IIFE because
// xsnap evaluates scripts with indirect eval: top-level `const`/`let` would not outlive the
// evaluation, so the entry publishes what the host needs on globalThis (e.g. handleCommand).

import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import type { Plugin } from 'esbuild';

export interface XsBundleOptions {
  minify?: boolean;
  /** Compile-time constants, as esbuild `define` (values are JS source text). */
  define?: Record<string, string>;
  /** Module names to files or folders, as esbuild `alias` (the firmware's full module names, e.g. canopy/crypto). */
  alias?: Record<string, string>;
  /** Appends an inline source map (helps XS stack traces name the TypeScript file). */
  sourcemap?: boolean;
}

export interface XsBundle {
  code: string;
  /** UTF-8 size of `code`: what the host ships to the engine. */
  bytes: number;
  /** Source files that went in, relative to the working directory. */
  inputs: string[];
}

/** Bundles the module at `entry` for XS; fails if it reaches any Node built-in. */
export async function bundleForXs(entry: string, options: XsBundleOptions = {}): Promise<string> {
  return (await buildXsBundle({ entry }, options)).code;
}

/** Entry as a file path, or as inline source resolved from `resolveDir` (handy for tests and probes). */
export type XsEntry = { entry: string } | { source: string; resolveDir: string; sourcefile?: string };

export async function buildXsBundle(from: XsEntry, options: XsBundleOptions = {}): Promise<XsBundle> {
  // Loaded when a bundle is built: a CLI verb that only imports this module does not pay for esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    ...('entry' in from
      ? { entryPoints: [from.entry] }
      : { stdin: { contents: from.source, resolveDir: from.resolveDir, sourcefile: from.sourcefile ?? 'xs-entry.ts', loader: 'ts' } }),
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    platform: 'neutral',
    // 'neutral' resolves no package fields by default; device libraries ship ESM.
    mainFields: ['module', 'main'],
    minify: options.minify ?? false,
    sourcemap: options.sourcemap ? 'inline' : false,
    define: options.define,
    alias: options.alias,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    plugins: [noNodeModules],
  }).catch((err: unknown) => {
    throw new Error(`XS bundle of ${describe(from)} failed:\n${formatErrors(err)}`);
  });
  const code = result.outputFiles[0].text;
  return {
    code,
    bytes: Buffer.byteLength(code),
    inputs: Object.keys(result.metafile.inputs),
  };
}

const nodeBuiltins = new Set(builtinModules);

// Device code runs on XS (and later on an ESP32), where there is no Node: importing one must be
// a build error naming the culprit, not a ReferenceError at run time on the device.
const noNodeModules: Plugin = {
  name: 'canopy-no-node-modules',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.replace(/^node:/, '');
      const root = bare.split('/')[0];
      if (!args.path.startsWith('node:') && !nodeBuiltins.has(bare) && !nodeBuiltins.has(root)) return undefined;
      const from = args.importer ? relative(process.cwd(), args.importer) : '<entry>';
      return {
        errors: [
          {
            text: `Node module "${args.path}" imported by ${from}: device code runs on XS, which has no Node built-ins`,
          },
        ],
      };
    });
  },
};

function describe(from: XsEntry): string {
  return 'entry' in from ? from.entry : (from.sourcefile ?? 'inline source');
}

function formatErrors(err: unknown): string {
  const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
  if (!errors?.length) return String(err);
  return errors
    .map((e) => (e.location ? `  ${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : `  ${e.text}`))
    .join('\n');
}
