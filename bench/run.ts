// `npm run bench [-- --json] [-- --only NAME]`: runs every bench/*.bench.ts and prints its rows.
// With --json, stdout carries the JSON array and nothing else: while the benchmarks run, anything
// they (or a library under them: esptool-js traces with console.log) write to stdout goes to stderr.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { BenchRow } from './harness.ts';

export async function main(argv: string[], dir = dirname(fileURLToPath(import.meta.url))): Promise<number> {
  const json = argv.includes('--json');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort();
  const rows: BenchRow[] = [];
  const stdoutWrite = process.stdout.write;
  const { log, info, debug } = console;
  if (json) {
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    console.log = console.info = console.debug = console.error.bind(console);
  }
  try {
    for (const file of files) {
      if (only && !file.includes(only)) continue;
      console.error(`running ${file} ...`);
      const mod = (await import(join(dir, file))) as { default: () => Promise<BenchRow[]> };
      const got = await mod.default();
      rows.push(...got);
      if (!json) for (const r of got) printRow(r);
    }
  } finally {
    process.stdout.write = stdoutWrite;
    Object.assign(console, { log, info, debug });
  }
  if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  return 0;
}

function printRow(r: BenchRow): void {
  console.log(`${r.name.padEnd(58)} ${String(r.value).padStart(12)} ${r.unit.padEnd(10)} ×${r.ratio.toFixed(2)} vs ${r.reference}`);
}
