// dist/: the CLI and the exported host libraries compiled ahead of time by esbuild, so that
// `canopy --help` costs node's start plus our code, not tsx compiling TypeScript on every run.
// One ESM build with code splitting: cli/main.ts's lazy `verbs` table makes each verb its own chunk,
// so a verb loads only what it imports. `prepare` (npm ci/install in a clone) and `prepack` run it;
// `npm test` runs it first (test/support/build-dist.ts); bin/canopy.js checks it is not stale.
//
// Chunks are written flat into dist/, one folder below the package root. Code that finds files
// next to its source (`new URL('../../manifest.json', import.meta.url)` in host/xs/program.ts, the
// C source of the device-heap worker, createRequire) would look beside the chunk instead, so the
// build gives every module its own source URL: `import.meta.url` becomes the URL of the .ts file it
// was written in, computed from the chunk's own URL at run time, so dist/ keeps working wherever
// the package is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const distDir = join(root, 'dist');

/** The package's entry points (package.json `exports` and `bin` point at dist/NAME.js). */
export const ENTRIES = {
  main: 'cli/main.ts',
  transport: 'host/transport-api.ts',
  telemetry: 'protocol/telemetry.ts',
  ota: 'ota/api.ts',
};

const STAMP = 'inputs.json';

/**
 * Is dist/ built from the sources as they are now? False when it is missing or any of its inputs
 * changed after the build began. An input that is not there (an installed package ships only some
 * sources) cannot be newer; a deleted file shows as its importer's edit.
 */
export function distFresh(dir = distDir) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(dir, STAMP), 'utf8'));
  } catch {
    return false;
  }
  const base = dirname(dir);
  for (const input of stamp.inputs) {
    let mtime;
    try {
      mtime = statSync(join(base, input)).mtimeMs;
    } catch {
      continue;
    }
    if (mtime > stamp.startedAt) return false;
  }
  return true;
}

/** `import.meta.url` of each of our modules as the URL of its source file, relative to the chunk it ends up in. */
function sourceUrlPlugin() {
  return {
    name: 'canopy-source-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        let contents = readFileSync(args.path, 'utf8');
        if (!contents.includes('import.meta')) return { contents, loader: 'ts' };
        const rel = relative(root, args.path).split(sep).join('/');
        if (/import\.meta\.(dirname|filename|resolve)\b/.test(contents)) {
          return { errors: [{ text: `${rel}: use import.meta.url (dist/ rewrites it to the source file's URL; dirname/filename/resolve it does not)` }] };
        }
        // Every output file sits directly in dist/, so "../" from a chunk is the package root.
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(`../${rel}`)}, import.meta.url).href`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * The typings of the exports (tsconfig.types.json) into `out`. protocol/ imports without an extension
 * (module names for XS and mcconfig) and host code with `.ts`; a consumer's TypeScript on
 * `moduleResolution: nodenext` accepts neither from a .d.ts, so every relative specifier becomes `.js`.
 */
function buildTypes(out) {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.types.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
  const rewrite = (dir) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, name.name);
      if (name.isDirectory()) rewrite(path);
      else if (name.name.endsWith('.d.ts')) {
        const text = readFileSync(path, 'utf8').replace(/((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]*?)(\.ts|\.js)?\2/g, (_, lead, q, spec) => `${lead}${q}${spec}.js${q}`);
        writeFileSync(path, text);
      }
    }
  };
  rewrite(out);
}

/**
 * Builds dist/ (into a fresh folder, then swapped in, so a concurrent `canopy` sees the old dist, none,
 * or the new one, never half of one). With `types`, also dist/types (the package's typings, from
 * tsc: seconds, so the test suite's build keeps the typings it finds instead).
 * Returns the build's milliseconds and its input count.
 */
export async function buildDist(dir = distDir, { types = true } = {}) {
  const { build } = await import('esbuild');
  const startedAt = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: root,
      entryPoints: ENTRIES,
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Dependencies stay where npm put them (native modules, and their own file lookups).
      packages: 'external',
      chunkNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceUrlPlugin()],
    });
    const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/')).sort();
    writeFileSync(join(tmp, STAMP), JSON.stringify({ startedAt, inputs }) + '\n');
    if (types) buildTypes(join(tmp, 'types'));
    else if (existsSync(join(dir, 'types'))) renameSync(join(dir, 'types'), join(tmp, 'types'));
    const old = `${dir}.old-${process.pid}`;
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
    return { ms: Date.now() - startedAt, inputs: inputs.length };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

// `node bin/dist.js [--no-types] [--quiet]`: the package's build step (npm run build, prepare, prepack).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { ms, inputs } = await buildDist(distDir, { types: !process.argv.includes('--no-types') });
    if (!process.argv.includes('--quiet')) console.error(`dist/: ${inputs} sources compiled in ${ms} ms`);
  } catch (err) {
    console.error(`dist/ build failed: ${err.message}`);
    process.exitCode = 1;
  }
}
