// `canopy ...` as a user runs it: a subprocess of bin/canopy.js, with what it prints collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { root } from './device-bundle.ts';

export const cli = join(root, 'bin', 'canopy.js');

export interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

export function canopy(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  child.stdout!.on('data', (d) => (run.stdout += d));
  child.stderr!.on('data', (d) => (run.stderr += d));
  return run;
}

/** Resolves once `predicate` holds over what the process has printed (stdout or stderr). */
export function outputUntil(run: Run, predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      run.child.stdout!.off('data', check);
      run.child.stderr!.off('data', check);
      resolve();
    };
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${run.stderr}`)), timeoutMs);
    run.child.stdout!.on('data', check);
    run.child.stderr!.on('data', check);
    check();
  });
}
