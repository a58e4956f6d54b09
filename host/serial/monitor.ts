// The serial monitor: device log bytes in, timestamped lines out. LineStamper is the sans-I/O core
// (bytes and the time they arrived in, finished lines out); `monitorPort` is the edge that owns the
// port, the reset pulse, the idle flush timer and shutdown.

import type { SerialPort } from 'serialport';
import { openSerialPort, type SerialBinding } from '../flash/web-serial.ts';

/** "12:34:56.789" in local time: what a person compares with their watch. */
export function clock(at: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}.${p(at.getMilliseconds(), 3)}`;
}

export class LineStamper {
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';
  private startedAt: Date | undefined;

  /** `stamp` null prints lines bare. */
  constructor(private readonly stamp: ((at: Date) => string) | null = clock) {}

  /** Lines completed by these bytes, each stamped with the time its first byte arrived. */
  push(bytes: Uint8Array, at: Date): string[] {
    const text = this.decoder.decode(bytes, { stream: true });
    const lines: string[] = [];
    for (const ch of text.split(/(\n)/)) {
      if (ch === '\n') {
        lines.push(this.format(this.partial));
        this.partial = '';
        this.startedAt = undefined;
      } else if (ch) {
        this.startedAt ??= at;
        this.partial += ch;
      }
    }
    return lines;
  }

  /** The unfinished line, for when the device has gone quiet mid-line (a prompt, a crash). */
  flush(): string[] {
    if (!this.partial) return [];
    const line = this.format(this.partial);
    this.partial = '';
    this.startedAt = undefined;
    return [line];
  }

  private format(line: string): string {
    const clean = line.replace(/\r$/, '');
    return this.stamp && this.startedAt ? `[${this.stamp(this.startedAt)}] ${clean}` : clean;
  }
}

export interface MonitorOptions {
  path: string;
  baud: number;
  binding?: SerialBinding;
  /** Pulse EN through RTS (IO0 high) after opening, so the log starts from boot. */
  reset?: boolean;
  timestamps?: boolean;
  /** Stops the monitor; the port is closed before the promise resolves. */
  signal: AbortSignal;
  write(text: string): void;
  note(text: string): void;
  /** Called once the port is open, before the reset pulse. */
  onOpen?: () => void;
  /** How long a half line may wait for its newline before it is shown anyway. */
  idleFlushMs?: number;
}

export type MonitorEnd = 'stopped' | 'port-closed';

const set = (port: SerialPort, flags: { dtr: boolean; rts: boolean }) =>
  new Promise<void>((resolve, reject) => port.set(flags, (err) => (err ? reject(err) : resolve())));

export async function monitorPort(options: MonitorOptions): Promise<MonitorEnd> {
  const port = await openSerialPort(options.path, options.baud, options.binding);
  options.onOpen?.();
  const stamper = new LineStamper(options.timestamps === false ? null : clock);
  let idle: NodeJS.Timeout | undefined;
  const emit = (lines: string[]) => {
    for (const l of lines) options.write(l + '\n');
  };
  // An unplugged board shows as an error then a close; the close ends the monitor.
  port.on('error', (err: Error) => options.note(`${options.path}: ${err.message}`));
  port.on('data', (chunk: Buffer) => {
    emit(stamper.push(chunk, new Date()));
    clearTimeout(idle);
    idle = setTimeout(() => emit(stamper.flush()), options.idleFlushMs ?? 250);
  });
  if (options.reset) {
    try {
      // RTS asserted with DTR released holds EN low (IO0 high): a plain reset into the firmware.
      await set(port, { dtr: false, rts: true });
      await new Promise((r) => setTimeout(r, 100));
      await set(port, { dtr: false, rts: false });
    } catch {
      options.note(`${options.path} has no DTR/RTS lines: press EN/RESET on the board to see it boot`);
    }
  }
  const end = await new Promise<MonitorEnd>((resolve) => {
    if (options.signal.aborted) resolve('stopped');
    options.signal.addEventListener('abort', () => resolve('stopped'), { once: true });
    port.once('close', () => resolve('port-closed'));
  });
  clearTimeout(idle);
  emit(stamper.flush());
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  return end;
}
