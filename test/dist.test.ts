// dist/ (bin/dist.js): bin/canopy.js runs it only while it is built from the sources as they are;
// after an edit it runs the TypeScript instead, so a stale build never runs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canopy } from './support/cli.ts';

const root = join(import.meta.dirname, '..');

/** bin/dist.js's distFresh(dir), in a node of its own (bin/ is plain JavaScript). */
function fresh(dir?: string): boolean {
  const script = `import { distFresh } from ${JSON.stringify(join(root, 'bin/dist.js'))}; console.log(distFresh(${dir ? JSON.stringify(dir) : ''}));`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim() === 'true';
}

describe('dist/', () => {
  it('is fresh after the build the suite starts with', () => {
    expect(fresh()).toBe(true);
  });

  it('goes stale when an input changes after the build began; a missing input does not count', () => {
    const base = mkdtempSync(join(tmpdir(), 'canopy-dist-'));
    const dist = join(base, 'dist');
    expect(fresh(dist)).toBe(false); // never built
    mkdirSync(join(base, 'cli'));
    writeFileSync(join(base, 'cli/main.ts'), 'export {};\n');
    const startedAt = Date.now();
    utimesSync(join(base, 'cli/main.ts'), new Date(startedAt - 60_000), new Date(startedAt - 60_000));
    mkdirSync(dist);
    writeFileSync(join(dist, 'inputs.json'), JSON.stringify({ startedAt, inputs: ['cli/main.ts', 'host/not-shipped.ts'] }));
    expect(fresh(dist)).toBe(true);
    utimesSync(join(base, 'cli/main.ts'), new Date(startedAt + 1000), new Date(startedAt + 1000));
    expect(fresh(dist)).toBe(false);
  });

  it('the CLI answers the same from dist/ and from source', async () => {
    const fromDist = canopy(['--version']);
    const fromSource = canopy(['--version'], { env: { ...process.env, CANOPY_FROM_SOURCE: '1' } });
    expect([await fromDist.exited, await fromSource.exited]).toEqual([0, 0]);
    expect(fromDist.stdout).toMatch(/^canopy \d+\.\d+\.\d+\n$/);
    expect(fromSource.stdout).toBe(fromDist.stdout);
  });
});
