// vitest globalSetup: the suite runs `canopy` as users do (bin/canopy.js), which runs dist/ when it
// is fresh; building it first means the tests exercise the compiled CLI the package ships, built
// from the sources under test, never a stale one. (A subprocess: test/ does not import bin/.)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [join(import.meta.dirname, '../../bin/dist.js'), '--quiet', '--no-types'], { stdio: 'inherit' });
}
