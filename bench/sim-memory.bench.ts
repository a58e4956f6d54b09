// Simulator memory over a long run: a V8-engine fleet at one QoS 1 sample per second per device, in
// real time, against `canopy broker` in another process so only the simulator is measured
// (bench/sim-memory-worker.ts). Reported: RSS per device near the end, and the heap still held after
// a full GC per message seen, which is what the runner and observer keep. Issue 11 measured
// 165 → 545 MB RSS in 30 minutes for 500 devices, ~280 B kept per message; the runner and observer
// now keep bounded summaries, so the heap after GC stays flat.
// Env: CANOPY_BENCH_MEM_DEVICES (default 100), CANOPY_BENCH_MEM_SECONDS (wall-clock seconds,
// default 60; 600 for the ten-minute row), CANOPY_BENCH_MEM_SPEED (device time per wall
// second, default 1: real time; 30 with 60 seconds is the 30-minute run, every device
// publishing 30 samples a wall second), CANOPY_BENCH_MEM_ROOT (another checkout, to measure a
// before and after).
//
// The heap used to grow with messages (issue 11 item 12: ~81 B per message in long real-time
// runs; 838 B in a one-minute run): each simulated device kept its outbox as a log of record
// bytes, up to 256 records (three per QoS 1 sample) between compactions, one Uint8Array and
// ArrayBuffer per record. A heap snapshot diff between two points of a run showed exactly those
// pairs and their arrays as the growth. sim/sim-device.ts now keeps the live messages only.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { row, runWorker, type BenchRow } from './harness.ts';
import type { MemoryResult } from './sim-memory-worker.ts';

const DEVICES = Number(process.env.CANOPY_BENCH_MEM_DEVICES ?? 100);
const SECONDS = Number(process.env.CANOPY_BENCH_MEM_SECONDS ?? 60);
/** The runs: real time for SECONDS, then the 30 minutes at 30× (or only CANOPY_BENCH_MEM_SPEED). */
const RUNS: { seconds: number; speed: number }[] = process.env.CANOPY_BENCH_MEM_SPEED
  ? [{ seconds: SECONDS, speed: Number(process.env.CANOPY_BENCH_MEM_SPEED) }]
  : [{ seconds: SECONDS, speed: 1 }, { seconds: 60, speed: 30 }];
/** How a run's length reads in a row name: wall seconds, or device minutes at a speed-up. */
const span = (r: { seconds: number; speed: number }) => (r.speed === 1 ? `${r.seconds} s` : `${(r.seconds * r.speed) / 60} min of device time (${r.speed}× speed, ${r.seconds} s wall)`);
const root = process.env.CANOPY_BENCH_MEM_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../bin/canopy.js', import.meta.url));
const worker = fileURLToPath(new URL('./sim-memory-worker.ts', import.meta.url));
/** Issue 11's figures: 545 MB for 500 devices after 30 minutes; ~280 B kept per message. */
const BEFORE_KB_PER_DEVICE = (545 * 1024) / 500;
const BEFORE_B_PER_MESSAGE = 280;

/** Resolves with the first stdout match of `pattern`. */
function outputMatching(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
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

function measure(broker: string, run: { seconds: number; speed: number }): Promise<MemoryResult> {
  return runWorker<MemoryResult>(['--expose-gc', '--import', 'tsx', worker, root, broker, String(DEVICES), String(run.seconds), String(run.speed)], 'sim memory worker');
}

export default async function simMemoryBench(): Promise<BenchRow[]> {
  const broker = spawn(process.execPath, [cli, 'broker', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [, url] = await outputMatching(broker, /listening on (mqtt:\/\/\S+)/, 'canopy broker');
    const rows: BenchRow[] = [];
    for (const run of RUNS) {
      const r = await measure(url, run);
      const seen = r.end.messages - r.start.messages;
      const keptPerMessage = seen > 0 ? ((r.end.heapKb - r.start.heapKb) * 1024) / seen : 0;
      console.error(
        `  sim memory: ${DEVICES} devices, ${span(run)}, ${seen} messages measured: RSS ${(r.start.rssKb / 1024).toFixed(0)} → ${(r.end.rssKb / 1024).toFixed(0)} MB, ` +
          `heap after GC ${(r.start.heapKb / 1024).toFixed(1)} → ${(r.end.heapKb / 1024).toFixed(1)} MB`,
      );
      rows.push(
        row(`sim, V8 engine: RSS per device after ${span(run)} (${DEVICES} devices, 1 msg/s)`, r.end.rssKb / DEVICES, 'kB', 'issue 11 before: 1116 kB after 30 min', BEFORE_KB_PER_DEVICE),
        // Signed: a heap that shrank says so, instead of reading as a flat zero.
        row(`sim, V8 engine: heap kept per message over ${span(run)}`, keptPerMessage, 'B', 'issue 11 before: ~280 B', BEFORE_B_PER_MESSAGE),
      );
    }
    return rows;
  } finally {
    broker.kill('SIGINT');
  }
}
