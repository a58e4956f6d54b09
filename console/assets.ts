// The console's pages, all served from this package: no CDN, so it works offline and on a
// technician's laptop in a greenhouse. The browser code is TypeScript under console/web/, compiled
// by esbuild when the console starts (about a tenth of a second, in memory): no build step to
// forget, no compiled copy in git to go stale, and the pages can import protocol/ modules (the ESP
// image and package parsers) so there is one definition of each format for the CLI and the browser.
// uPlot and esptool-js are served as their own browser builds from node_modules, unmodified.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export interface Asset {
  type: string;
  body: Buffer;
}

const WEB = fileURLToPath(new URL('./web', import.meta.url));
const require = createRequire(import.meta.url);
const modulePath = (spec: string) => require.resolve(spec);
const pkgDir = (name: string) => dirname(modulePath(`${name}/package.json`));

/** Browser builds of the two libraries, by the path the pages import them from. */
export const VENDOR: Record<string, { file: () => string; type: string; module: string }> = {
  '/vendor/uplot.js': { file: () => join(pkgDir('uplot'), 'dist/uPlot.esm.js'), type: 'text/javascript', module: 'uplot' },
  '/vendor/uplot.css': { file: () => join(pkgDir('uplot'), 'dist/uPlot.min.css'), type: 'text/css', module: '' },
  // esptool-js's bundle.js: its own browser build (pako inlined), the file ESP Web Tools loads.
  '/vendor/esptool-js.js': { file: () => join(pkgDir('esptool-js'), 'bundle.js'), type: 'text/javascript', module: 'esptool-js' },
};

// The pages import 'uplot' and 'esptool-js' by name (so tsc checks them against the packages'
// types); in the bundle those imports point at the vendor files above.
const vendorImports: Plugin = {
  name: 'vendor',
  setup(b) {
    for (const [path, v] of Object.entries(VENDOR)) {
      if (!v.module) continue;
      b.onResolve({ filter: new RegExp(`^${v.module}$`) }, () => ({ path, external: true }));
    }
  },
};

export async function buildAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const out = await build({
    entryPoints: [join(WEB, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: '/',
    logLevel: 'silent',
    plugins: [vendorImports],
  });
  for (const f of out.outputFiles) assets.set('/app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(f.contents) });
  assets.set('/', { type: 'text/html; charset=utf-8', body: readFileSync(join(WEB, 'index.html')) });
  assets.set('/console.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(WEB, 'console.css')) });
  for (const [path, v] of Object.entries(VENDOR)) assets.set(path, { type: `${v.type}; charset=utf-8`, body: readFileSync(v.file()) });
  return assets;
}
