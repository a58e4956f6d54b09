// Drives Moddable's XS engine as built by @agoric/xsnap, talking to the `xsnap-worker` binary
// over its pipes directly. The package's own wrapper needs @endo/init, which freezes the host
// realm's intrinsics: fine for a chain node, wrong for a CLI that also runs tsx, vitest and esbuild.
//
// Protocol (see xsnap-worker.c): netstrings `LEN:BYTES,` on fd 3 (to the worker) and fd 4 (from it).
// To the worker: `e`+script, `?`+bytes (calls globalThis.handleCommand), `/`+bytes (answer to the
// guest's issueCommand), `q` (quit). From the worker: `.`+meter JSON+`\x01`+reply bytes, `!`+text
// (uncaught exception), `?`+bytes (the guest's blocking issueCommand).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { deviceHeapWorker, LOADING_CREATION, type HeapBudget } from './device-heap.ts';

/** What xsnap reports after every request. */
export interface Meter {
  /** Live heap slots (XS `currentHeapCount`): exact right after a `gc()`, else includes garbage. 32 B each on 64-bit hosts, 16 B on ESP32. */
  heapSlots: number;
  /** Computation units the request used (XS meter index; roughly one per bytecode/native step). */
  compute: number;
  /** Bytes XS has obtained from the system for its chunk and slot heaps so far (grows, never shrinks). */
  allocate: number;
  /** Worker-side timestamps (seconds) at delivery, issueCommand calls and reply; empty unless built with them. */
  timestamps: number[];
}

export interface Reply {
  /** The request's ArrayBuffer result (`handleCommand`'s return, or an evaluation whose value is an ArrayBuffer); else empty. */
  bytes: Uint8Array;
  meter: Meter;
}

/** Answers the guest's blocking `issueCommand(ArrayBuffer)`. Must be synchronous: the guest is stopped waiting for it. */
export type CommandHandler = (bytes: Uint8Array) => Uint8Array;

export interface XsWorkerOptions {
  /** Shows in errors and `ps`; must not start with `-`. */
  name?: string;
  onCommand?: CommandHandler;
  /** Receives each line the guest `print`s (the worker's stdout). Without it stdout is discarded. */
  print?: (line: string) => void;
  /** Compute units allowed per request; past it the worker exits (code 17). Default: no limit. */
  meteringLimit?: number;
  /** Path to an `xsnap-worker` binary; default: $CANOPY_XSNAP_WORKER, then the installed package's release, then debug build. */
  binary?: string;
  /**
   * A device-sized heap (host/xs/device-heap.ts): the worker starts small, and `sealHeap()` then
   * leaves exactly this much free beyond what is loaded; past it the guest aborts "memory full".
   * Without it, xsnap's own 32 MB chunk heap that grows without bound.
   */
  heap?: HeapBudget;
}

/** What `sealHeap` left: free room, and what the loaded code holds. */
export interface SealedHeap {
  chunks: number;
  slots: number;
  chunksUsed: number;
  slotsUsed: number;
}

/** The guest threw out of a request; the worker is still alive. */
export class XsException extends Error {
  override name = 'XsException';
  constructor(readonly guestMessage: string) {
    super(`XS guest exception: ${guestMessage}`);
  }
}

/** The worker process is gone; every pending and later request fails with this. */
export class XsWorkerExit extends Error {
  override name = 'XsWorkerExit';
  constructor(message: string, readonly code: number | null, readonly signal: string | null, readonly stderr: string) {
    super(message);
  }
}

// Exit codes from xsnap-worker.c, named so a crash report says what happened.
const EXIT_NAMES: Record<number, string> = {
  255: 'E_UNKNOWN_ERROR (e.g. an exception thrown out of a setImmediate callback)',
  1: 'E_BAD_USAGE',
  2: 'E_IO_ERROR',
  11: 'E_NOT_ENOUGH_MEMORY',
  12: 'E_STACK_OVERFLOW',
  15: 'E_UNHANDLED_EXCEPTION',
  16: 'E_NO_MORE_KEYS',
  17: 'E_TOO_MUCH_COMPUTATION (meteringLimit exceeded)',
};

const KIND_OK = 0x2e; // '.'
const KIND_ERROR = 0x21; // '!'
const KIND_QUERY = 0x3f; // '?'
const METER_END = 0x01;
const STDERR_TAIL = 2048;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Finds the xsnap-worker binary built by the installed @agoric/xsnap (release preferred). */
export function findXsnapWorker(): string {
  const fromEnv = process.env.CANOPY_XSNAP_WORKER;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`XS engine unavailable: CANOPY_XSNAP_WORKER=${fromEnv} does not exist`);
    return fromEnv;
  }
  const platform = ({ linux: 'lin', darwin: 'mac' } as Record<string, string>)[process.platform];
  if (!platform) throw new Error(`XS engine unavailable: @agoric/xsnap does not build on ${process.platform}`);
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('@agoric/xsnap/package.json'));
  } catch {
    throw new Error('XS engine unavailable: package @agoric/xsnap is not installed; run `npm install`');
  }
  const rel = `xsnap-native/xsnap/build/bin/${platform}`;
  for (const goal of ['release', 'debug']) {
    const bin = join(pkgDir, rel, goal, 'xsnap-worker');
    if (existsSync(bin)) return bin;
  }
  throw new Error(
    `XS engine unavailable: ${join(pkgDir, rel)}/{release,debug}/xsnap-worker not found; ` +
      'run `npm rebuild @agoric/xsnap` (needs make and gcc >= 10)',
  );
}

interface Pending {
  frame: Uint8Array[];
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  /** `q` gets no reply: it is done once written. */
  quit?: boolean;
}

/** One XS machine in a child process. Requests run one at a time, in call order. */
export class XsWorker {
  readonly name: string;
  /** May be replaced at any time, e.g. by a Bridge. */
  onCommand: CommandHandler | undefined;
  /** Resolves when the process has exited and its pipes are closed. */
  readonly exited: Promise<XsWorkerExit>;

  private readonly child: ChildProcess;
  private readonly toWorker: Writable;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private inbox: Uint8Array = new Uint8Array(0);
  private stderrTail = '';
  private exit: XsWorkerExit | undefined;
  private quitting = false;
  // A throwing onCommand handler is a host bug: the guest gets an exception at its call site
  // and the request fails with the host's error, even if the guest caught its own.
  private handlerError: Error | undefined;
  private readonly heap: HeapBudget | undefined;

  constructor(options: XsWorkerOptions = {}) {
    this.name = options.name ?? 'xs-worker';
    if (this.name.startsWith('-')) throw new Error(`XsWorker name '${this.name}' must not start with '-'`);
    this.onCommand = options.onCommand;
    this.heap = options.heap;
    const binary = options.binary ?? (options.heap ? deviceHeapWorker() : findXsnapWorker());
    if (!existsSync(binary)) throw new Error(`XS engine unavailable: ${binary} not found`);
    const args = [this.name];
    if (options.meteringLimit) args.push('-l', String(options.meteringLimit));
    const print = options.print;
    const env = options.heap ? { ...process.env, CANOPY_XS_CREATION: LOADING_CREATION } : process.env;
    // Its own process group: a Ctrl-C at the terminal goes to the host, which stops the devices
    // cleanly, instead of killing every worker under it at once.
    this.child = spawn(binary, args, { stdio: ['ignore', print ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'], env, detached: true });
    const stdio = this.child.stdio as unknown as [null, Readable | null, Readable, Writable, Readable];
    this.toWorker = stdio[3];
    // EPIPE after the worker died surfaces through 'close' below; without a listener it would crash the host.
    this.toWorker.on('error', () => {});
    // A plain Uint8Array view, so that .slice() below copies (Buffer#slice would alias the chunk).
    stdio[4].on('data', (chunk: Buffer) => this.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    stdio[2].setEncoding('utf8');
    stdio[2].on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-STDERR_TAIL);
    });
    if (print && stdio[1]) forEachLine(stdio[1], print);

    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        // spawn failure (ENOENT, EACCES): no 'close' may follow when nothing was opened.
        this.die(new XsWorkerExit(`XS worker ${this.name} could not start: ${err.message}`, null, null, ''));
        resolve(this.exit!);
      });
      this.child.on('close', (code, signal) => {
        if (!this.exit) this.die(this.describeExit(code, signal));
        resolve(this.exit!);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Evaluates a script (indirect eval, so top-level `const`/`let` do not outlive it; publish via globalThis). */
  evaluate(code: string): Promise<Reply> {
    return this.request([encoder.encode(`e${code}`)]);
  }

  /** Calls the guest's `globalThis.handleCommand(ArrayBuffer)`; resolves with the ArrayBuffer it returns. */
  issueCommand(bytes: Uint8Array): Promise<Reply> {
    return this.request([Uint8Array.of(KIND_QUERY), bytes]);
  }

  /**
   * Fixes the heap at the `heap` budget of free room beyond what the guest holds now (call once,
   * after loading the firmware: on the board that code is in flash). Needs the `heap` option.
   */
  async sealHeap(): Promise<SealedHeap> {
    if (!this.heap) throw new Error(`XS worker ${this.name} was started without a device heap`);
    const r = await this.evaluate(
      `(() => { const s = canopySealHeap(${this.heap.chunks}, ${this.heap.slots}); delete globalThis.canopySealHeap; return new TextEncoder().encode(s).buffer; })()`,
    );
    return JSON.parse(decoder.decode(r.bytes)) as SealedHeap;
  }

  /** Asks the worker to quit after pending requests; resolves once it has exited. */
  async close(): Promise<void> {
    if (this.exit) return;
    if (!this.quitting) {
      this.quitting = true;
      await new Promise<void>((resolve) => {
        // Queued, so it goes out after earlier requests have finished.
        this.queue.push({ frame: [encoder.encode('q')], resolve: () => resolve(), reject: () => resolve(), quit: true });
        this.pump();
      });
    }
    const exit = await this.exited;
    if (exit.code !== 0) throw exit;
  }

  /** Kills the process now; pending requests reject. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.exit) this.child.kill(signal);
    await this.exited;
  }

  private request(frame: Uint8Array[]): Promise<Reply> {
    if (this.exit) return Promise.reject(this.exit);
    if (this.quitting) return Promise.reject(new Error(`XS worker ${this.name} is closing`));
    return new Promise((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.current || this.exit) return;
    const next = this.queue.shift();
    if (!next) return;
    if (next.quit) {
      this.send(next.frame);
      next.resolve(undefined as never);
      return;
    }
    this.current = next;
    this.send(next.frame);
  }

  private send(parts: Uint8Array[]): void {
    let length = 0;
    for (const p of parts) length += p.length;
    const header = encoder.encode(`${length}:`);
    const out = new Uint8Array(header.length + length + 1);
    out.set(header, 0);
    let o = header.length;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    out[o] = 0x2c; // ','
    this.toWorker.write(out);
  }

  private receive(chunk: Uint8Array): void {
    this.inbox = this.inbox.length ? concat(this.inbox, chunk) : chunk;
    for (;;) {
      const colon = this.inbox.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(decoder.decode(this.inbox.subarray(0, colon)));
      if (!Number.isInteger(length) || colon > 10) return this.protocolError('bad netstring length');
      const end = colon + 1 + length;
      if (this.inbox.length <= end) return;
      if (this.inbox[end] !== 0x2c) return this.protocolError('netstring without trailing comma');
      const message = this.inbox.subarray(colon + 1, end);
      this.inbox = this.inbox.subarray(end + 1);
      this.dispatch(message);
    }
  }

  private dispatch(message: Uint8Array): void {
    const kind = message[0];
    if (kind === KIND_QUERY) return this.answer(message.slice(1));
    const pending = this.current;
    if (!pending) return this.protocolError(`unsolicited message '${String.fromCharCode(kind)}'`);
    this.current = undefined;
    const handlerError = this.handlerError;
    this.handlerError = undefined;
    if (kind === KIND_OK) {
      if (handlerError) pending.reject(handlerError);
      else pending.resolve(parseOk(message));
    } else if (kind === KIND_ERROR) {
      pending.reject(handlerError ?? new XsException(decoder.decode(message.subarray(1))));
    } else {
      return this.protocolError(`unknown message kind '${String.fromCharCode(kind)}'`);
    }
    this.pump();
  }

  private answer(bytes: Uint8Array): void {
    let reply: Uint8Array;
    try {
      if (!this.onCommand) throw new Error(`XS worker ${this.name}: guest called issueCommand but no onCommand handler is set`);
      reply = this.onCommand(bytes);
      if (!(reply instanceof Uint8Array)) throw new TypeError('onCommand handler must return a Uint8Array');
    } catch (err) {
      this.handlerError ??= err instanceof Error ? err : new Error(String(err));
      // Any reply not starting with '/' makes the guest's issueCommand throw, stopping it at the call site.
      this.send([encoder.encode(`!host handler failed: ${this.handlerError.message}`)]);
      return;
    }
    this.send([Uint8Array.of(0x2f), reply]);
  }

  private protocolError(what: string): void {
    this.die(new XsWorkerExit(`XS worker ${this.name} protocol error: ${what}`, null, null, this.stderrTail));
    this.child.kill('SIGKILL');
  }

  private die(exit: XsWorkerExit): void {
    this.exit ??= exit;
    const failed = this.current ? [this.current, ...this.queue] : [...this.queue];
    this.current = undefined;
    this.queue.length = 0;
    for (const p of failed) p.reject(this.exit);
  }

  private describeExit(code: number | null, signal: string | null): XsWorkerExit {
    const how =
      signal !== null
        ? `was killed by ${signal}`
        : code === 0
          ? 'exited'
          : `exited with code ${code} ${EXIT_NAMES[code ?? -1] ?? ''}`.trimEnd();
    const tail = this.stderrTail.trim();
    // The board would abort the same way: say which limit the app ran into.
    const limit =
      code === 11 && this.heap
        ? `: the app outgrew its device heap (${this.heap.chunks} chunk bytes and ${this.heap.slots} slots free after the firmware loaded: an ESP32's 78,848 B and 4,928 slots, plus the host bridge's share)`
        : '';
    const message = `XS worker ${this.name} ${how}${limit}${tail ? `; stderr: ${tail}` : ''}`;
    return new XsWorkerExit(message, code, signal, this.stderrTail);
  }
}

function parseOk(message: Uint8Array): Reply {
  const sep = message.indexOf(METER_END, 1);
  if (sep < 0) return { bytes: message.slice(1), meter: { heapSlots: 0, compute: 0, allocate: 0, timestamps: [] } };
  const raw = JSON.parse(decoder.decode(message.subarray(1, sep))) as {
    currentHeapCount: number;
    compute: number;
    allocate: number;
    timestamps?: number[];
  };
  return {
    // A copy with its own ArrayBuffer: callers keep replies and may hand `.buffer` on.
    bytes: message.slice(sep + 1),
    meter: { heapSlots: raw.currentHeapCount, compute: raw.compute, allocate: raw.allocate, timestamps: raw.timestamps ?? [] },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function forEachLine(stream: Readable, fn: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop()!;
    for (const line of lines) fn(line);
  });
  stream.on('end', () => {
    if (partial) fn(partial);
  });
}
