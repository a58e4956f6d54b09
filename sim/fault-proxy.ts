// A TCP proxy between devices and a broker that injects network faults, so fault scenarios
// work the same with any broker: partition (both directions silent, sockets kept open),
// latency with jitter, and connection reset.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { NetActivity } from '../host/device-socket.ts';

interface Pair {
  client: Socket;
  upstream: Socket;
}

export interface FaultProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  /** Where relayed bytes count as network activity (the simulator run's). */
  activity?: NetActivity;
  listenHost?: string;
  listenPort?: number;
  /** [0, 1) source for jitter, seeded in simulations. */
  random?: () => number;
}

export class FaultProxy {
  readonly options: FaultProxyOptions;
  port = 0;
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private partitioned = false;
  private latencyMs = 0;
  private jitterMs = 0;
  private readonly random: () => number;
  private readonly held: (() => void)[] = [];

  constructor(options: FaultProxyOptions) {
    this.options = options;
    this.random = options.random ?? Math.random;
  }

  get url(): string {
    return `mqtt://${this.options.listenHost ?? '127.0.0.1'}:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listenPort ?? 0, this.options.listenHost ?? '127.0.0.1', () => resolve());
    });
    const a = server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
    this.server = server;
    return this;
  }

  /** Both directions go silent; connections stay open, so only keepalive can notice. */
  partition(): void {
    this.partitioned = true;
  }

  /** Held bytes flow again, as TCP would retransmit them once the path is back. */
  heal(): void {
    this.partitioned = false;
    for (const release of this.held.splice(0)) release();
  }

  /**
   * The broker's side of every connection drops while the device's side stays silent: what a
   * broker does when its keepalive timer expires during a partition. The simulator calls this
   * at that moment of device time when time runs faster than the broker's own clock.
   */
  severUpstream(): void {
    for (const p of this.pairs) p.upstream.destroy();
  }

  setLatency(ms: number, jitterMs = 0): void {
    this.latencyMs = ms;
    this.jitterMs = jitterMs;
  }

  /** TCP RST on every connection through the proxy. */
  reset(): void {
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.reset();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect(this.options.upstreamPort, this.options.upstreamHost);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      if (!this.pairs.has(pair)) return;
      // In a partition a FIN or RST is as lost as data: the far side learns only after healing.
      if (this.partitioned) {
        this.held.push(end);
        return;
      }
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  private forward(from: Socket, to: Socket): void {
    // Bytes are released in order: each chunk waits for at least the previous one's time.
    let lastRelease = 0;
    const send = (chunk: Buffer) => {
      if (this.latencyMs === 0 && this.jitterMs === 0) {
        to.write(chunk);
        return;
      }
      const due = Math.max(lastRelease, Date.now() + this.latencyMs + this.random() * this.jitterMs);
      lastRelease = due;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, due - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      this.options.activity?.note();
      if (this.partitioned) this.held.push(() => !to.destroyed && send(chunk));
      else send(chunk);
    });
  }
}
