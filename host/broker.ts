// The embedded broker: aedes in-process on loopback. Its persistence outlives a restart, so a
// "broker restart" in tests and in the simulator keeps sessions and QoS state as a real
// persistent broker would.
import { createServer, type Server, type Socket } from 'node:net';
import type { Aedes } from 'aedes';
import memoryPersistence from 'aedes-persistence';

export interface EmbeddedBrokerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** When the port is taken, fall back to a free one instead of failing. */
  fallbackToFreePort?: boolean;
}

export class EmbeddedBroker {
  readonly host: string;
  port: number;
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly persistence = memoryPersistence();
  private readonly fallback: boolean;

  constructor(options: EmbeddedBrokerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.fallback = options.fallbackToFreePort ?? false;
  }

  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** The aedes instance, for tests that listen to its events. */
  get instance(): Aedes {
    if (!this.aedes) throw new Error('broker is not running');
    return this.aedes;
  }

  async start(): Promise<this> {
    if (this.server) return this;
    // aedes is loaded when a broker starts, not with this module: a verb that can embed one
    // (`canopy sim`) does not pay ~80 ms for it on `--help` or with --broker (issue 12: cold start).
    const { Aedes } = await import('aedes');
    const aedes = new Aedes({ persistence: this.persistence });
    await aedes.listen();
    const server = createServer((socket) => {
      this.sockets.add(socket);
      // Small packets (PUBACKs, OTA block requests) must not wait on Nagle for the next one.
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    try {
      await listen(server, this.port, this.host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !this.fallback) {
        await closeAedes(aedes);
        throw portError(err as NodeJS.ErrnoException, this.host, this.port);
      }
      await listen(server, 0, this.host);
    }
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.aedes = aedes;
    this.server = server;
    return this;
  }

  /** Stops accepting and drops every connection at once, like a broker process dying. */
  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = undefined;
    this.aedes = undefined;
    if (!server || !aedes) return;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeAedes(aedes);
  }

  /** Stop, then start on the same port with the same persistence. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}

function portError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  if (err.code === 'EADDRINUSE') return new Error(`port ${port} on ${host} is already in use; pick another with --port, or 0 for any free port`);
  if (err.code === 'EACCES') return new Error(`no permission to listen on ${host}:${port}; ports below 1024 need privileges`);
  return err;
}
