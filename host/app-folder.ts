// Whether a folder holds a Canopy device app (`canopy new` scaffolds one): a manifest.json that is
// not Canopy's own built-in sensor-node's. From inside such a folder `canopy sim`, `canopy build`
// and `canopy flash` work on that app.
import { existsSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const builtInManifest = fileURLToPath(new URL('../manifest.json', import.meta.url));

export function holdsApp(dir: string): boolean {
  const m = join(dir, 'manifest.json');
  return existsSync(m) && realpathSync(m) !== realpathSync(builtInManifest);
}

/** Where `canopy build` puts an app's firmware when run in its folder (mcconfig -o build). */
export const APP_BUILD_DIR = 'build';

/** The esp32 build of the app in `dir` that `canopy build --target esp32` wrote, if there is one. */
export function appEsp32Build(dir: string): string | undefined {
  const name = basename(resolve(dir));
  for (const kind of ['release', 'debug']) {
    const p = join(dir, APP_BUILD_DIR, 'bin', 'esp32', kind, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}
