// The device firmware bundled for the XS engine once per test file, as the simulator ships it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildXsBundle, type XsBundle } from '../../host/xs/bundle.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let bundle: Promise<XsBundle> | undefined;

export function deviceBundle(): Promise<XsBundle> {
  bundle ??= buildXsBundle({ entry: join(root, 'device', 'xsnap-main.ts') });
  return bundle;
}
