// The device firmware for the XS engine, as the simulator ships it: manifest.json's xsnap platform,
// loaded module by module under the firmware's module names (host/xs/program.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulatorProgram, type XsProgram } from '../../host/xs/program.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function deviceBundle(): Promise<XsProgram> {
  return simulatorProgram();
}
