// Issue 11.3 as a user meets it: `canopy session --client-id ""` (a persistent session by
// default) ends at once with one sentence and a non-zero exit, never a stack trace.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './support/device-bundle.ts';
import { freePort } from '../host/loopback.ts';

const cli = join(root, 'bin', 'canopy.js');

function canopy(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

const MESSAGE = 'canopy session: an empty client id is allowed only with a clean session (MQTT-3.1.3-7): give a client id, or ask for a clean session [client-id-empty]';

describe('canopy session with an empty client id', () => {
  it('prints one line and exits 1 before connecting (--broker)', async () => {
    const port = await freePort();
    const r = await canopy(['session', '--broker', `mqtt://127.0.0.1:${port}`, '--client-id', '']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([MESSAGE]);
    expect(r.stdout).toBe('');
  });

  it('prints one line and exits 1 without starting the embedded broker (--demo)', async () => {
    const r = await canopy(['session', '--demo', '--client-id', '']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([MESSAGE]);
  });

  it('runs with --clean (the broker assigns the id)', async () => {
    const r = await canopy(['session', '--demo', '--client-id', '', '--clean', '--duration', '1']);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toMatch(/connected/);
    expect(r.code).toBe(0);
  });
});
