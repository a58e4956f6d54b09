// Benchmarks report ratios against a reference measured in the same process and run, so the
// figures survive a noisy or slower machine. Ours and the reference are interleaved in rounds
// and the median round is reported.
import { spawn } from 'node:child_process';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  reference: string;
  ratio: number;
}

export interface Rate {
  opsPerSec: number;
}

/** Runs `fn` (one call = `batch` operations) for about `ms` milliseconds; returns ops/s. */
export function rate(fn: () => void, batch: number, ms = 200): number {
  // Warm up so both sides are measured after the JIT has settled.
  const warmEnd = performance.now() + ms / 4;
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    ops += batch;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/** Interleaves measurements of `ours` and `reference`, `rounds` times; returns the medians. */
export function compare(ours: () => void, reference: () => void, batch: number, rounds = 5, ms = 200): { ours: number; reference: number } {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(rate(ours, batch, ms));
    b.push(rate(reference, batch, ms));
  }
  return { ours: median(a), reference: median(b) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function row(name: string, value: number, unit: string, reference: string, refValue: number): BenchRow {
  return { name, value: round(value), unit, reference, ratio: round(value / refValue, 3) };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Runs a bench worker in a Node process of its own (so its CPU and RSS are its own) and resolves
 * with the one JSON value it prints on stdout; its stderr goes to ours.
 */
export function runWorker<T>(nodeArgs: string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out) as T);
      } catch (err) {
        reject(new Error(`${what} failed: ${(err as Error).message}`));
      }
    });
  });
}
