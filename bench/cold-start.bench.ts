// CLI cold start (issue 12 item 1): `canopy --help` and `canopy sim --help` (the verb with the
// heaviest imports: broker, XS engine driver, esbuild, yaml) as a user runs them, a fresh node
// process each, against `node -e 0` measured in the same rounds (node's own start, which no CLI on
// node can beat). dist/ is built first, as `npm ci` (prepare) leaves it; the tsx row is what a run
// costs from source, as bin/canopy.js falls back to when dist/ is stale.
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { median, row, type BenchRow } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = resolve(ROOT, 'bin/canopy.js');
const ROUNDS = 9;

function wallMs(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export default async function (): Promise<BenchRow[]> {
  execFileSync(process.execPath, [resolve(ROOT, 'bin/dist.js'), '--quiet', '--no-types'], { stdio: 'inherit' });
  const fromSource = { ...process.env, CANOPY_FROM_SOURCE: '1' };
  const runs = { node: [] as number[], help: [] as number[], sim: [] as number[], tsx: [] as number[] };
  wallMs([CLI, '--help']); // the first run after a build reads the files from disk
  for (let i = 0; i < ROUNDS; i++) {
    runs.node.push(wallMs(['-e', '0']));
    runs.help.push(wallMs([CLI, '--help']));
    runs.sim.push(wallMs([CLI, 'sim', '--help']));
    runs.tsx.push(wallMs([CLI, '--help'], fromSource));
  }
  const node = median(runs.node);
  const help = median(runs.help);
  const ref = `node -e 0 (${node.toFixed(0)} ms)`;
  return [
    row('cli: cold start `canopy --help` (dist, ms wall)', help, 'ms', ref, node),
    row('cli: cold start `canopy sim --help` (dist, ms wall)', median(runs.sim), 'ms', ref, node),
    row('cli: `canopy sim --help` beyond `canopy --help`', median(runs.sim) - help, 'ms', 'goal: 150 ms', 150),
    row('cli: cold start `canopy --help` from source (tsx, ms wall)', median(runs.tsx), 'ms', ref, node),
  ];
}
