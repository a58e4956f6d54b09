// canopy's own version, from package.json: `canopy --version` and what the bridge names itself as
// in Home Assistant's discovery origin block.
import { readFileSync } from 'node:fs';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
