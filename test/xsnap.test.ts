// The XS engine itself, driven over xsnap-worker's pipes: evaluation, commands both ways,
// exceptions, crashes, metering, and protocol code bundled with esbuild running on it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildXsBundle, bundleForXs } from '../host/xs/bundle.ts';
import { findXsnapWorker, XsException, XsWorker, XsWorkerExit, type XsWorkerOptions } from '../host/xs/worker.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const enc = new TextEncoder();
const dec = new TextDecoder();

const workers: XsWorker[] = [];
function start(options: XsWorkerOptions = {}): XsWorker {
  const w = new XsWorker({ name: 'test', ...options });
  workers.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.kill()));
});

describe('XsWorker', () => {
  it('finds the installed xsnap-worker binary', () => {
    expect(findXsnapWorker()).toMatch(/xsnap-native\/xsnap\/build\/bin\/lin\/(release|debug)\/xsnap-worker$/);
  });

  it('evaluates scripts; var and globalThis persist, an ArrayBuffer result comes back as bytes', async () => {
    const w = start();
    await w.evaluate('var counter = 41; globalThis.label = "xs"');
    const r = await w.evaluate('counter++; new TextEncoder().encode(label + counter).buffer');
    expect(dec.decode(r.bytes)).toBe('xs42');
    expect((await w.evaluate('1 + 1')).bytes).toHaveLength(0);
  });

  it('reports live heap slots, compute and allocation with every reply', async () => {
    const w = start();
    const idle = (await w.evaluate('gc()')).meter;
    // An empty XS machine holds a few thousand slots of built-ins (about 3.9k in XS 13.3).
    expect(idle.heapSlots).toBeGreaterThan(1000);
    expect(idle.heapSlots).toBeLessThan(20_000);
    expect(idle.compute).toBeGreaterThan(0);
    expect(idle.allocate).toBeGreaterThan(idle.heapSlots * 16);
    const grown = (await w.evaluate('globalThis.keep = Array.from({ length: 10000 }, (_, i) => ({ i })); gc()')).meter;
    // A small object with one property costs two slots (the array's items live in chunks, not slots).
    expect(grown.heapSlots - idle.heapSlots).toBeGreaterThanOrEqual(20_000);
    expect(grown.heapSlots - idle.heapSlots).toBeLessThan(21_000);
    const loop = (await w.evaluate('let s = 0; for (let i = 0; i < 100000; i++) s += i')).meter;
    expect(loop.compute).toBeGreaterThan(100_000);
    const freed = (await w.evaluate('delete globalThis.keep; gc()')).meter;
    expect(Math.abs(freed.heapSlots - idle.heapSlots)).toBeLessThan(100);
  });

  it('host → guest: issueCommand calls handleCommand and returns its ArrayBuffer', async () => {
    const w = start();
    await w.evaluate('globalThis.handleCommand = (ab) => new Uint8Array(ab).map((b) => b * 2).buffer');
    const r = await w.issueCommand(Uint8Array.of(1, 2, 3, 200));
    expect([...r.bytes]).toEqual([2, 4, 6, 144]);
    expect(r.meter.heapSlots).toBeGreaterThan(0);
  });

  it('guest → host: the guest blocks on issueCommand while the synchronous onCommand answers', async () => {
    const seen: string[] = [];
    const w = start({
      onCommand: (bytes) => {
        seen.push(dec.decode(bytes));
        return enc.encode(`ack:${dec.decode(bytes)}`);
      },
    });
    const r = await w.evaluate(`
      const replies = [];
      for (const m of ['a', 'bb', '']) replies.push(new TextDecoder().decode(issueCommand(new TextEncoder().encode(m).buffer)));
      new TextEncoder().encode(replies.join('|')).buffer`);
    expect(seen).toEqual(['a', 'bb', '']);
    expect(dec.decode(r.bytes)).toBe('ack:a|ack:bb|ack:');
  });

  it('serializes requests: concurrent calls complete in order with their own results', async () => {
    const w = start();
    await w.evaluate('globalThis.n = 0; globalThis.handleCommand = () => new Uint8Array([++n]).buffer');
    const replies = await Promise.all(Array.from({ length: 20 }, () => w.issueCommand(new Uint8Array(0))));
    expect(replies.map((r) => r.bytes[0])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('rejects with the guest exception message and stays usable', async () => {
    const w = start();
    const err = await w.evaluate('throw new RangeError("sensor offline")').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XsException);
    expect((err as XsException).guestMessage).toBe('RangeError: sensor offline');
    await w.evaluate('globalThis.handleCommand = () => { throw new TypeError("bad frame") }');
    await expect(w.issueCommand(Uint8Array.of(1))).rejects.toThrow('TypeError: bad frame');
    expect(dec.decode((await w.evaluate('new TextEncoder().encode("alive").buffer')).bytes)).toBe('alive');
  });

  it('a throwing onCommand handler throws at the guest call site and fails the request with the host error', async () => {
    const w = start({
      onCommand: () => {
        throw new Error('disk full');
      },
    });
    // Even when the guest swallows it: a failing host handler is a host bug and must not go unseen.
    await expect(w.evaluate('try { issueCommand(new ArrayBuffer(1)) } catch (e) { globalThis.seen = String(e) }')).rejects.toThrow(
      'disk full',
    );
    const seen = await w.evaluate('new TextEncoder().encode(seen).buffer');
    expect(dec.decode(seen.bytes)).toMatch(/Error/);
    await expect(w.evaluate('issueCommand(new ArrayBuffer(1))')).rejects.toThrow('disk full');
  });

  it('captures print output line by line', async () => {
    const lines: string[] = [];
    const w = start({ print: (l) => lines.push(l) });
    await w.evaluate('print("hello", 42); print("ünïcode ✓")');
    await w.close();
    expect(lines).toEqual(['hello 42', 'ünïcode ✓']);
  });

  it('close() quits after pending requests finish', async () => {
    const w = start();
    const pending = w.evaluate('new Uint8Array([7]).buffer');
    await w.close();
    expect((await pending).bytes[0]).toBe(7);
    expect(w.alive).toBe(false);
    await expect(w.evaluate('1')).rejects.toBeInstanceOf(XsWorkerExit);
  });

  it('a crash (exception out of setImmediate) rejects pending and later requests with exit code and stderr', async () => {
    const w = start();
    const crash = w.evaluate('setImmediate(() => { throw new Error("watchdog") })');
    const queued = w.evaluate('1').catch((e: unknown) => e);
    const err = (await crash.catch((e: unknown) => e)) as XsWorkerExit;
    expect(err).toBeInstanceOf(XsWorkerExit);
    expect(err.code).toBe(255);
    expect(err.message).toMatch(/exited with code 255 E_UNKNOWN_ERROR.*stderr: Unhandled exception Error: watchdog/);
    expect(await queued).toBe(err);
    await expect(w.issueCommand(new Uint8Array(0))).rejects.toBe(err);
  });

  it('a worker killed mid-request rejects it with the signal', async () => {
    let w!: XsWorker;
    // The guest tells us it has entered its endless loop; only then do we kill it.
    w = start({
      onCommand: () => {
        queueMicrotask(() => void w.kill('SIGKILL'));
        return new Uint8Array(0);
      },
    });
    const err = (await w.evaluate('issueCommand(new ArrayBuffer(0)); for (;;) {}').catch((e: unknown) => e)) as XsWorkerExit;
    expect(err).toBeInstanceOf(XsWorkerExit);
    expect(err.signal).toBe('SIGKILL');
    expect(err.message).toContain('killed by SIGKILL');
  });

  it('meteringLimit stops runaway guest code (exit 17); no limit by default', async () => {
    const limited = start({ meteringLimit: 100_000 });
    await expect(limited.evaluate('for (;;) {}')).rejects.toThrow(/code 17 E_TOO_MUCH_COMPUTATION/);
    const free = start();
    // 2e8 units: twice xsnap's own default limit, which would kill this.
    const r = await free.evaluate('let s = 0; for (let i = 0; i < 2e7; i++) s += i');
    expect(r.meter.compute).toBeGreaterThan(1e8);
  });

  it('overflows the XS stack (killing the worker) on a 4096-argument apply: keep fromCharCode.apply chunks small', async () => {
    // Why protocol/utf8.ts builds strings 256 code units at a time: 2048 fits xsnap's stack, 4096 does not,
    // and an ESP32's XS stack is smaller still.
    const w = start();
    await w.evaluate('String.fromCharCode.apply(null, new Uint8Array(2048).fill(65))');
    await expect(w.evaluate('String.fromCharCode.apply(null, new Uint8Array(4096).fill(65))')).rejects.toThrow(/code 12 E_STACK_OVERFLOW/);
  });

  it('names a missing binary clearly', () => {
    expect(() => new XsWorker({ binary: '/nonexistent/xsnap-worker' })).toThrow(/XS engine unavailable: \/nonexistent\/xsnap-worker not found/);
  });
});

describe('bundleForXs', () => {
  it('refuses Node built-ins with a message naming the importer', async () => {
    await expect(
      buildXsBundle({ source: 'import { readFileSync } from "node:fs"; globalThis.x = readFileSync;', resolveDir: root, sourcefile: 'probe.ts' }),
    ).rejects.toThrow(/Node module "node:fs" imported by probe\.ts/);
    await expect(buildXsBundle({ source: 'import path from "path"; globalThis.p = path;', resolveDir: root })).rejects.toThrow(
      /Node module "path"/,
    );
  });

  it('runs protocol/utf8.ts on the real XS engine with results identical to Node', async () => {
    const bundle = await buildXsBundle({
      resolveDir: root,
      source: `
        import { utf8Decode, utf8Encode, utf8Length } from './protocol/utf8.ts';
        // Request: JSON array of strings. Reply: per string, its encoded bytes (hex), length and round trip.
        globalThis.handleCommand = (ab) => {
          const strings = JSON.parse(utf8Decode(new Uint8Array(ab)));
          const out = strings.map((s) => {
            try {
              const b = utf8Encode(s);
              let hex = '';
              for (const x of b) hex += x.toString(16).padStart(2, '0');
              return { hex, length: utf8Length(s), back: utf8Decode(b) === s };
            } catch (e) {
              return { error: e.name + ': ' + e.message };
            }
          });
          return utf8Encode(JSON.stringify(out)).buffer;
        };
      `,
    });
    expect(bundle.inputs).toContain('protocol/utf8.ts');
    expect(bundle.bytes).toBeGreaterThan(1000);
    expect(bundle.code).not.toMatch(/\brequire\(/);

    const w = start();
    await w.evaluate(bundle.code);
    const strings = ['', 'sensor/temp', 'ünïcödé', 'µ°C', '温度センサー', '🌲🌳🌴', 'a\u0000b', 'x'.repeat(20000) + '€', '\ud83c'];
    const reply = await w.issueCommand(enc.encode(JSON.stringify(strings)));
    const got = JSON.parse(dec.decode(reply.bytes)) as { hex?: string; length?: number; back?: boolean; error?: string }[];
    strings.forEach((s, i) => {
      if (s === '\ud83c') {
        expect(got[i].error).toBe('Utf8Error: lone high surrogate in string');
        return;
      }
      const node = Buffer.from(s, 'utf8');
      expect(got[i]).toEqual({ hex: node.toString('hex'), length: node.length, back: true });
    });
  });

  it('bundles a file entry to one IIFE script', async () => {
    const code = await bundleForXs(join(root, 'protocol/utf8.ts'));
    // Strict, so top-level `var`s stay inside the IIFE rather than leaking onto the XS global.
    expect(code).toMatch(/^"use strict";\n\(\(\) => \{/);
    const w = start();
    await w.evaluate(code); // exports nothing, defines nothing: it must merely evaluate cleanly on XS
  });
});
