// Simulator memory over a long run: `canopy sim` (V8 engine, 1 QoS 1 sample per second per device,
// --json streamed to a pipe) against `canopy broker` in another process, so only the simulator is
// measured. RSS is read from /proc once the fleet is up and again just before --duration ends.
// Issue 11 measured 165 → 545 MB in 30 minutes for 500 devices (~280 B per message kept); the
// runner and observer now keep bounded summaries, so RSS should level off.
// Env: CANOPY_BENCH_MEM_DEVICES (default 100), CANOPY_BENCH_MEM_SECONDS (default 60; 600 for the
// issue's ten-minute row, 1800 for its thirty), CANOPY_BENCH_MEM_CLI (another checkout's
// bin/canopy.js, to measure a before and after on the same machine).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { row, type BenchRow } from './harness.ts';

const DEVICES = Number(process.env.CANOPY_BENCH_MEM_DEVICES ?? 100);
const SECONDS = Number(process.env.CANOPY_BENCH_MEM_SECONDS ?? 60);
const cli = process.env.CANOPY_BENCH_MEM_CLI ?? fileURLToPath(new URL('../bin/canopy.js', import.meta.url));
/** Issue 11's figure: 545 MB for 500 devices after 30 minutes. */
const BEFORE_KB_PER_DEVICE = (545 * 1024) / 500;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]);
}

/** Resolves with the first stdout line matching `pattern`. */
function lineMatching(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const on = (d: Buffer) => {
      buf += d;
      const m = pattern.exec(buf);
      if (!m) return;
      child.stdout!.off('data', on);
      resolve(m);
    };
    child.stdout!.on('data', on);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it was ready`)));
  });
}

export default async function simMemoryBench(): Promise<BenchRow[]> {
  const broker = spawn(process.execPath, [cli, 'broker', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [, url] = await lineMatching(broker, /listening on (mqtt:\/\/\S+)/, 'canopy broker');
    const sim = spawn(process.execPath, [cli, 'sim', '--broker', url, '--engine', 'node', '--devices', String(DEVICES), '--interval', '1000', '--qos', '1', '--duration', String(SECONDS), '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let messages = 0;
    let tail = '';
    sim.stdout!.on('data', (d: Buffer) => {
      const text = tail + d.toString();
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) if (l.includes('"kind":"telemetry"')) messages++;
    });
    const exited = new Promise<number | null>((resolve) => sim.once('close', resolve));
    // "Up": the first sample of every device has arrived; the end: a second before --duration.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => messages >= DEVICES && (clearInterval(t), resolve()), 100);
    });
    const startKb = rssKb(sim.pid!);
    const startMessages = messages;
    const endKb = await new Promise<number>((resolve) => setTimeout(() => resolve(rssKb(sim.pid!)), Math.max(1000, (SECONDS - 2) * 1000)));
    const grown = messages - startMessages;
    const code = await exited;
    if (code !== 0) throw new Error(`canopy sim exited with ${code}`);
    console.error(`  sim memory: ${DEVICES} devices, ${SECONDS} s: RSS ${(startKb / 1024).toFixed(0)} → ${(endKb / 1024).toFixed(0)} MB over ${grown} messages`);
    return [
      row(`sim, V8 engine: RSS per device after ${SECONDS} s (${DEVICES} devices, 1 msg/s)`, endKb / DEVICES, 'kB', 'issue 11 before: 1116 kB after 30 min', BEFORE_KB_PER_DEVICE),
      row(`sim, V8 engine: RSS growth per message over ${SECONDS} s`, grown > 0 ? ((endKb - startKb) * 1024) / grown : 0, 'B', 'issue 11 before: ~280 B per message', 280),
    ];
  } finally {
    broker.kill('SIGINT');
  }
}
