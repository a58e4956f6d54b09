// esptool-js talks to a Web Serial port (open/readable/writable/setSignals/getInfo/close); Node has
// `serialport`. This adapter gives one the shape of the other, so esptool-js runs unmodified.
// It also offers `setBaudRate`, which esptool-js (0.7) prefers to closing and reopening the port:
// a reopen drops DTR/RTS on many bridges and resets the board mid-session.

import { SerialPort } from 'serialport';
import { openError } from './ports.ts';

/** A serialport `binding` (bindings-cpp by default; tests plug in a fake board). */
export type SerialBinding = object;

export interface PortInfo {
  usbVendorId?: number;
  usbProductId?: number;
}

/** Opens a serialport SerialPort, with open failures turned into FlashErrors a person can act on. */
export async function openSerialPort(path: string, baudRate: number, binding?: SerialBinding): Promise<SerialPort> {
  const options = { path, baudRate, autoOpen: false, ...(binding ? { binding } : {}) };
  const port = new SerialPort(options as ConstructorParameters<typeof SerialPort>[0]);
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(openError(path, err)) : resolve())));
  return port;
}

const RECENT_BYTES = 4096;

const call = (fn: (cb: (err?: Error | null) => void) => void) =>
  new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

export class WebSerialPort {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  /** False once the port has refused modem-line changes (a pty, some USB CDC stacks). */
  signalsWork = true;
  private port: SerialPort | undefined;
  // The last bytes received, kept because esptool-js discards its input before each sync: a boot
  // banner in there tells "wrong boot mode" from "nothing connected".
  private recent = new Uint8Array(0);
  // serialport's set() writes every line on each call, so the lines not named keep their state here.
  private dtr = false;
  private rts = false;
  // When the last byte came in, and who waits for the line to fall quiet (see quiet()).
  private lastInput = 0;
  private quietWaiters = new Set<() => void>();
  private inputWaiters = new Set<() => void>();

  constructor(
    readonly path: string,
    private readonly info: PortInfo = {},
    private readonly binding?: SerialBinding,
  ) {}

  /** What the port received most recently (up to 4 KiB), as Latin-1 text. */
  recentInput(): string {
    return new TextDecoder('latin1').decode(this.recent);
  }

  getInfo(): PortInfo {
    return { ...this.info };
  }

  async open(options: { baudRate: number }): Promise<void> {
    if (this.port?.isOpen) throw new Error(`${this.path} is already open`);
    const port = await openSerialPort(this.path, options.baudRate, this.binding);
    this.port = port;
    let onData: ((chunk: Buffer) => void) | undefined;
    const keep = (chunk: Buffer) => {
      this.lastInput = performance.now();
      for (const wake of this.quietWaiters) wake();
      for (const wake of this.inputWaiters) wake();
      const both = new Uint8Array(this.recent.length + chunk.length);
      both.set(this.recent);
      both.set(chunk, this.recent.length);
      this.recent = both.slice(-RECENT_BYTES);
    };
    port.on('data', keep);
    this.readable = new ReadableStream<Uint8Array>({
      start(controller) {
        onData = (chunk) => controller.enqueue(new Uint8Array(chunk));
        port.on('data', onData);
        // Unplugging mid-flash: the reader sees the error and esptool-js reports a dead line.
        port.on('error', (err: Error) => {
          try {
            controller.error(err);
          } catch {
            // already closed
          }
        });
        port.once('close', () => {
          try {
            controller.close();
          } catch {
            // already cancelled by the reader
          }
        });
      },
      cancel() {
        if (onData) port.off('data', onData);
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      async write(chunk) {
        await call((cb) => port.write(Buffer.from(chunk), cb));
        await call((cb) => port.drain(cb));
      },
    });
  }

  /**
   * Resolves once no byte has arrived for `quietMs` (or after `maxMs` in all). esptool-js drains
   * stale replies by sleeping in 100 ms steps until its buffer stops growing, which costs at least
   * 200 ms each time even when the line is silent; this waits on the data events instead.
   */
  quiet(quietMs: number, maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        if (timer) clearTimeout(timer);
        const now = performance.now();
        const wait = Math.min(Math.max(0, this.lastInput + quietMs - now), deadline - now);
        if (wait <= 0) return done();
        timer = setTimeout(arm, wait);
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        this.quietWaiters.delete(arm);
        resolve();
      };
      this.quietWaiters.add(arm);
      arm();
    });
  }

  /**
   * Resolves true once the next chunk has arrived and been handed to the reader (one macrotask
   * later: the stream delivers it through promise jobs), or once `ready()` holds at a macrotask
   * boundary (a chunk delivered just before this call is only then in the reader's buffer); false
   * after `timeoutMs` without either.
   */
  nextInput(timeoutMs: number, ready: () => boolean = () => false): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const settle = (got: boolean) => {
        clearTimeout(timer);
        this.inputWaiters.delete(wake);
        resolve(got);
      };
      const wake = () => setImmediate(() => settle(true));
      const timer = setTimeout(() => settle(ready()), timeoutMs);
      this.inputWaiters.add(wake);
      setImmediate(() => ready() && settle(true));
    });
  }

  async setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    if (signals.dataTerminalReady !== undefined) this.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.rts = signals.requestToSend;
    const port = this.port;
    if (!port?.isOpen || !this.signalsWork) return;
    try {
      await call((cb) => port.set({ dtr: this.dtr, rts: this.rts, brk: signals.break ?? false }, cb));
    } catch (err) {
      // A pseudo-terminal has no modem lines (ENOTTY/EINVAL): the board must be put in download
      // mode by hand there, which the no-sync error explains.
      this.signalsWork = false;
      if (!/ENOTTY|EINVAL|Inappropriate ioctl|Invalid argument/i.test((err as Error).message)) throw err;
    }
  }

  async setBaudRate(baudRate: number): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new Error(`${this.path} is not open`);
    await call((cb) => port.update({ baudRate }, cb));
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.readable = null;
    this.writable = null;
    if (port?.isOpen) await call((cb) => port.close(cb));
  }
}
