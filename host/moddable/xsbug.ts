// A minimal xsbug, for the real-SDK suite and the firmware bench row: a debug build of the
// firmware connects to it (XSBUG_PORT) and reports its trace output, every exception (we ask to break on exceptions and
// answer each break with "go"), and its heap instruments once a second. That is how the suite sees
// an XS exception at boot, and how it reads slots and chunks of the running firmware.
//
// The wire protocol, from the SDK's tools/xsbug-log/xsbug-machine.js: the machine sends XML
// fragments (<login>, <log>, <break>, <instruments>, <samples>) and takes commands such as
// `<go/>` and `<set-all-breakpoints>…</set-all-breakpoints>`, each framed by CRLF.
import { createServer, type Server, type Socket } from 'node:net';

export interface Instruments {
  /** Instrument name -> value, e.g. "Chunk used" -> 5120 (bytes), "Slot used" -> 8192 (bytes). */
  [name: string]: number;
}

export class XsbugListener {
  readonly logs: string[] = [];
  readonly exceptions: string[] = [];
  samples: Instruments[] = [];
  private names: string[] = [];
  private readonly sampleWaiters = new Set<() => void>();
  private server: Server | undefined;
  private buffer = '';
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((socket) => this.attach(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('xsbug listener has no port');
    this.port = address.port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Resolves once `count` instrument samples satisfy `keep` (the machine sends one a second);
   * rejects after `timeoutMs` with what arrived, and any exception the firmware threw.
   */
  whenSamples(keep: (s: Instruments) => boolean, count: number, timeoutMs: number): Promise<Instruments[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const kept = this.samples.filter(keep);
        if (kept.length < count) return;
        clearTimeout(timer);
        this.sampleWaiters.delete(check);
        resolve(kept);
      };
      const timer = setTimeout(() => {
        this.sampleWaiters.delete(check);
        reject(new Error(`the firmware sent ${this.samples.length} instrument samples in ${timeoutMs} ms, ${this.samples.filter(keep).length} of them as wanted (exceptions: ${this.exceptions.join('; ') || 'none'})`));
      }, timeoutMs);
      this.sampleWaiters.add(check);
      check();
    });
  }

  /** The last instrument sample, or undefined before the first. */
  get latest(): Instruments | undefined {
    return this.samples.at(-1);
  }

  private attach(socket: Socket): void {
    socket.setEncoding('utf8');
    const send = (xml: string) => socket.write(`\r\n${xml}\r\n`);
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      // Elements arrive whole or split; handle every complete one, keep the rest.
      for (;;) {
        const m = /<(login|log|break|instruments|samples)\b([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/.exec(this.buffer);
        if (!m) break;
        this.buffer = this.buffer.slice(m.index + m[0].length);
        const [, tag, attrs, , body = ''] = m;
        if (tag === 'login') {
          send('<set-all-breakpoints><breakpoint path="exceptions" line="0" id="@0"/></set-all-breakpoints>');
          send('<go/>');
        } else if (tag === 'log') this.logs.push(unescape(body));
        else if (tag === 'break') {
          this.exceptions.push(`${unescape(body)} (${/path="([^"]*)"/.exec(attrs)?.[1] ?? '?'}:${/line="([^"]*)"/.exec(attrs)?.[1] ?? '?'})`);
          send('<go/>');
        } else if (tag === 'instruments') this.names = [...body.matchAll(/<instrument name="([^"]*)"/g)].map((i) => unescape(i[1]));
        else if (tag === 'samples') {
          const values = body.split(',').map(Number);
          const sample: Instruments = {};
          this.names.forEach((name, i) => (sample[name] = values[i]));
          this.samples.push(sample);
          if (this.samples.length > 600) this.samples.shift();
          for (const waiter of [...this.sampleWaiters]) waiter();
        }
      }
    });
  }
}

function unescape(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
