// CLI cold start (issue 12 item 1): `canopy --help`, `canopy sim --help` (the simulator: XS engine
// driver, yaml) and `canopy flash --help` (the heaviest imports: serialport, esptool-js) as a user
// runs them, a fresh node process each, against `node -e 0` measured in the same rounds (node's own start, which no CLI on
// node can beat). dist/ is built first, as `npm ci` (prepare) leaves it; the tsx row is what a run
// costs from source, as bin/canopy.js falls back to when dist/ is stale.
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { median, row, type BenchRow } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = resolve(ROOT, 'bin/canopy.js');
const ROUNDS = 9;
// Each child reports its own CPU time (user + system) on fd 3 as it exits: wall time on a shared
// 2-core machine swings with the load, CPU time much less. The hook is the same for every row.
const CPU_HOOK = `data:text/javascript,import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String((u.user + u.system) / 1000)); });`;

interface Run {
  wall: number;
  cpu: number;
}

function measure(args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const start = performance.now();
  const r = spawnSync(process.execPath, ['--import', CPU_HOOK, ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env });
  const wall = performance.now() - start;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: Number(String(r.output[3])) };
}

export default async function (): Promise<BenchRow[]> {
  execFileSync(process.execPath, [resolve(ROOT, 'bin/dist.js'), '--quiet', '--no-types'], { stdio: 'inherit' });
  const fromSource = { ...process.env, CANOPY_FROM_SOURCE: '1' };
  const runs = { node: [] as Run[], help: [] as Run[], sim: [] as Run[], flash: [] as Run[], tsx: [] as Run[] };
  measure([CLI, '--help']); // the first run after a build reads the files from disk
  for (let i = 0; i < ROUNDS; i++) {
    runs.node.push(measure(['-e', '0']));
    runs.help.push(measure([CLI, '--help']));
    runs.sim.push(measure([CLI, 'sim', '--help']));
    runs.flash.push(measure([CLI, 'flash', '--help']));
    runs.tsx.push(measure([CLI, '--help'], fromSource));
  }
  const wall = (r: Run[]) => median(r.map((x) => x.wall));
  const cpu = (r: Run[]) => median(r.map((x) => x.cpu));
  const ref = `node -e 0 (${wall(runs.node).toFixed(0)} ms)`;
  const cpuRef = `node -e 0 (${cpu(runs.node).toFixed(0)} ms CPU)`;
  return [
    row('cli: cold start `canopy --help` (dist, ms wall)', wall(runs.help), 'ms', ref, wall(runs.node)),
    row('cli: cold start `canopy sim --help` (dist, ms wall)', wall(runs.sim), 'ms', ref, wall(runs.node)),
    row('cli: cold start `canopy flash --help` (dist, ms wall)', wall(runs.flash), 'ms', ref, wall(runs.node)),
    row('cli: `canopy sim --help` beyond `canopy --help` (ms wall)', wall(runs.sim) - wall(runs.help), 'ms', 'goal: 150 ms', 150),
    row('cli: `canopy flash --help` beyond `canopy --help` (ms wall)', wall(runs.flash) - wall(runs.help), 'ms', 'goal: 150 ms', 150),
    row('cli: cold start `canopy --help` from source (tsx, ms wall)', wall(runs.tsx), 'ms', ref, wall(runs.node)),
    row('cli: cold start `canopy --help` (dist, ms CPU)', cpu(runs.help), 'ms', cpuRef, cpu(runs.node)),
    row('cli: cold start `canopy sim --help` (dist, ms CPU)', cpu(runs.sim), 'ms', cpuRef, cpu(runs.node)),
    row('cli: cold start `canopy flash --help` (dist, ms CPU)', cpu(runs.flash), 'ms', cpuRef, cpu(runs.node)),
    row('cli: cold start `canopy --help` from source (tsx, ms CPU)', cpu(runs.tsx), 'ms', cpuRef, cpu(runs.node)),
  ];
}
