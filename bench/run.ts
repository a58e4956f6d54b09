// `npm run bench [-- --json] [-- --only NAME]`: runs every bench/*.bench.ts and prints its rows.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { BenchRow } from './harness.ts';

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
  const rows: BenchRow[] = [];
  for (const file of files) {
    if (only && !file.includes(only)) continue;
    const mod = (await import(join(here, file))) as { default: () => Promise<BenchRow[]> };
    if (!json) console.error(`running ${file} ...`);
    const got = await mod.default();
    rows.push(...got);
    if (!json) for (const r of got) printRow(r);
  }
  if (json) console.log(JSON.stringify(rows, null, 2));
  return 0;
}

function printRow(r: BenchRow): void {
  console.log(`${r.name.padEnd(58)} ${String(r.value).padStart(12)} ${r.unit.padEnd(10)} ×${r.ratio.toFixed(2)} vs ${r.reference}`);
}
