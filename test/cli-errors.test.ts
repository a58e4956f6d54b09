// CLI failure paths a user can hit, each with its exit code and its one-line message: a busy
// --port, user files that are missing or are not what the verb expected.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canopy } from './support/run-canopy.ts';

/** Holds a loopback port (a given one, or any free one) until closed. */
async function occupy(port = 0): Promise<{ server: Server; port: number } | undefined> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!ok) return undefined;
  return { server, port: (server.address() as { port: number }).port };
}

const held: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** What a verb wrote with process.stderr.write (the simulator's progress lines), besides console.error. */
function captureStderrWrites(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  return lines;
}

describe('a busy --port', () => {
  it('canopy sim --port N with N taken: refuses as canopy broker does, exit 1, one line, no devices started', async () => {
    const busy = (await occupy())!;
    held.push(busy.server);
    const writes = captureStderrWrites();
    const r = await canopy('sim', '--port', String(busy.port), '--duration', '1s', '--virtual-time', '--devices', '1');
    const message = `port ${busy.port} on 127.0.0.1 is already in use; pick another with --port, or 0 for any free port`;
    expect(r).toEqual({ code: 1, out: '', err: `canopy sim: ${message}` });
    expect(writes.join('')).not.toContain('devices on the');
    const broker = await canopy('broker', '--port', String(busy.port));
    expect(broker).toEqual({ code: 1, out: '', err: `canopy broker: ${message}` });
  }, 30_000);

  it('canopy sim without --port, 1883 taken: a free port instead, printed, exit 0', async () => {
    // Held here if free; if another process has it, it is just as taken.
    const p1883 = await occupy(1883);
    if (p1883) held.push(p1883.server);
    const writes = captureStderrWrites();
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // the --json event lines
    const r = await canopy('sim', '--duration', '1s', '--virtual-time', '--devices', '1', '--engine', 'node', '--json');
    expect(r.code, r.err).toBe(0);
    const started = /1 devices on the V8 engine, embedded broker mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(writes.join(''));
    expect(started, writes.join('')).not.toBeNull();
    expect(Number(started![1])).not.toBe(1883);
  }, 30_000);
});
