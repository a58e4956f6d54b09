// `npm run bench -- --json` is read by scripts (the README table is made from it): stdout must be
// the JSON and nothing else, whatever a benchmark or a library under it prints.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../bench/run.ts';

afterEach(() => vi.restoreAllMocks());

describe('bench runner', () => {
  it('--json prints only the JSON rows on stdout; chatter goes to stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canopy-bench-'));
    writeFileSync(
      join(dir, 'noisy.bench.ts'),
      `export default async function () {
        console.log('TRACE 12.000 Read 8 bytes');
        console.info('progress');
        process.stdout.write('raw\\n');
        return [{ name: 'noisy', value: 1, unit: 'x', reference: 'r', ratio: 1 }];
      }`,
    );
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => (err.push(String(t)), true));
    // Installed before main() runs, as the real stdout is: main() must route around it, not through it.
    vi.spyOn(process.stdout, 'write').mockImplementation((t) => (out.push(String(t)), true));
    expect(await main(['--json'], dir)).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual([{ name: 'noisy', value: 1, unit: 'x', reference: 'r', ratio: 1 }]);
    expect(err.join('')).toMatch(/raw/);
  });
});
