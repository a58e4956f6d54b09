// The Node edge of a protocol Session: a TCP or TLS socket and real timers. All MQTT behaviour
// stays in protocol/session; this file only moves bytes and time between it and the OS.
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readUserFile } from './user-file.ts';
import type { QoS, Subscription } from '../protocol/mqtt/packets.ts';
import type { Session, SessionEvent } from '../protocol/session/session.ts';
import { SessionEdge } from '../protocol/session/edge.ts';
import { parseBrokerUrl, type BrokerAddress } from '../protocol/broker-url.ts';
import { utf8Encode } from '../protocol/utf8.ts';

export { parseBrokerUrl, type BrokerAddress } from '../protocol/broker-url.ts';

export interface TlsFiles {
  /** PEM file paths. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Defaults to true; turning it off is for test brokers with self-signed certificates only. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface DriverOptions {
  tls?: TlsFiles;
  /** Monotonic ms clock; the session's notion of `now`. */
  clock?: () => number;
}

/**
 * Runs a Session over a socket. Emits 'event' for every SessionEvent and also the event's own
 * type ('connected', 'message', ...), so callers can `once('connected')`.
 */
export class SessionDriver extends EventEmitter {
  readonly session: Session;
  readonly address: BrokerAddress;
  private readonly clock: () => number;
  private readonly tlsOptions: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string } | undefined;
  private socket: Socket | undefined;
  private readonly edge: SessionEdge;

  constructor(session: Session, broker: string | BrokerAddress, options: DriverOptions = {}) {
    super();
    this.session = session;
    this.address = typeof broker === 'string' ? parseBrokerUrl(broker) : broker;
    this.clock = options.clock ?? (() => performance.now());
    useUrlCredentials(session, this.address);
    if (this.address.secure || options.tls) {
      const t = options.tls ?? {};
      this.tlsOptions = {
        ca: t.ca ? readPem(t.ca, 'CA certificate') : undefined,
        cert: t.cert ? readPem(t.cert, 'client certificate') : undefined,
        key: t.key ? readPem(t.key, 'client key') : undefined,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        servername: t.servername,
      };
      if (!this.address.secure) this.address = { ...this.address, secure: true };
    }
    this.edge = new SessionEdge(session, {
      now: this.clock,
      write: (bytes) => this.write(bytes),
      open: () => this.openSocket(),
      close: () => this.closeSocket(),
      event: (e) => this.emitEvent(e),
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
    });
  }

  start(): this {
    this.edge.start();
    return this;
  }

  publish(topic: string, payload: Uint8Array, opts: { qos?: QoS; retain?: boolean } = {}): number {
    const id = this.session.publish(topic, payload, opts, this.clock());
    this.flush();
    return id;
  }

  subscribe(subscriptions: Subscription[]): void {
    this.session.subscribe(subscriptions, this.clock());
    this.flush();
  }

  unsubscribe(filters: string[]): void {
    this.session.unsubscribe(filters, this.clock());
    this.flush();
  }

  /** Clean shutdown; resolves once the session is closed (DISCONNECT sent or drain timed out). */
  stop(): Promise<void> {
    if (this.session.state === 'closed') {
      this.edge.flush();
      return Promise.resolve();
    }
    const done = new Promise<void>((resolve) => this.once('closed', () => resolve()));
    this.session.disconnect(this.clock());
    this.flush();
    return done;
  }

  /** Drop the connection with no DISCONNECT and stop: what a power cut looks like to the broker. */
  kill(): void {
    this.edge.halt();
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Destroy the socket without telling the session first: a network failure. */
  dropConnection(): void {
    this.socket?.destroy(new Error('connection dropped'));
  }

  private flush(): void {
    this.edge.flush();
  }

  private write(bytes: readonly Uint8Array[]): void {
    if (!this.socket) return;
    if (bytes.length === 1) this.socket.write(bytes[0]);
    else {
      // One write of all of it: an observer answers a read of a hundred PUBLISHes with a hundred
      // PUBACKs, and a corked write costs a stream buffer entry each.
      let n = 0;
      for (const b of bytes) n += b.length;
      const all = new Uint8Array(n);
      let o = 0;
      for (const b of bytes) {
        all.set(b, o);
        o += b.length;
      }
      this.socket.write(all);
    }
  }

  private emitEvent(e: SessionEvent): void {
    this.emit('event', e);
    this.emit(e.type, e);
  }

  private openSocket(): void {
    this.closeSocket();
    const { host, port } = this.address;
    const socket = this.tlsOptions
      ? tlsConnect({ host, port, ...this.tlsOptions, servername: this.tlsOptions.servername ?? (isIp(host) ? undefined : host) })
      : tcpConnect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    socket.once(this.tlsOptions ? 'secureConnect' : 'connect', () => {
      if (this.socket === socket) this.edge.connectionMade();
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.edge.dataReceived(chunk);
    });
    let reason = 'connection closed by the broker';
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reason = describeSocketError(err, host, port);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.edge.connectionLost(reason);
    });
  }

  private closeSocket(): void {
    const s = this.socket;
    if (!s) return;
    this.socket = undefined;
    // end() lets a final DISCONNECT reach the wire before the FIN.
    s.end();
    s.destroySoon();
  }
}

/**
 * mqtt://user:pass@host: the URL's credentials go into the CONNECT of a session configured without
 * any, so every command that takes --broker URL (sim, monitor, session, ota push and rollout)
 * honours them without each one copying them over. Credentials given to the Session win.
 */
function useUrlCredentials(session: Session, address: BrokerAddress): void {
  if (address.username === undefined && address.password === undefined) return;
  // The Session keeps its options private; this is the one place outside it that fills them in.
  const options = session['options'];
  if (options.username !== undefined || options.password !== undefined) return;
  // MQTT 3.1.1 has no password without a user name (MQTT-3.1.2-22): refuse it here, with the URL's
  // own words, rather than when the CONNECT is encoded inside a socket callback.
  if (address.username === undefined) throw new Error('the broker URL has a password but no user name (mqtt://user:password@host)');
  options.username = address.username;
  if (address.password !== undefined) options.password = utf8Encode(address.password);
}

export function readPem(path: string, what: string): Buffer {
  return readUserFile(path, what);
}

export function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** A socket failure as a sentence naming the broker: shared by the CLI and the simulated devices. */
export function describeSocketError(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `nothing is listening on ${host}:${port} (connection refused)`;
    case 'ENOTFOUND':
      return `cannot resolve the broker host "${host}"`;
    case 'ECONNRESET':
      return 'the broker reset the connection';
    case 'ETIMEDOUT':
      return `connecting to ${host}:${port} timed out`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the TLS certificate of ${host}:${port} is not trusted (${err.message}); give its CA with --ca FILE`;
    default: {
      // The broker ended the handshake with an alert about our certificate (mosquitto with
      // require_certificate): say which, in words, without OpenSSL's error-string noise.
      const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/.exec(err.code ?? '');
      if (alert) {
        const what = alert[1].toLowerCase().replace(/_/g, ' ');
        if (what === 'certificate required') return `the broker ${host}:${port} requires a client certificate (TLS alert: ${what}); give --cert and --key`;
        if (/certificate|unknown ca|bad certificate|access denied|decrypt error/.test(what)) {
          return `the broker ${host}:${port} refused this client's certificate (TLS alert: ${what}); it must be issued by the fleet CA the broker trusts, and be within its validity`;
        }
        return `the broker ${host}:${port} ended the TLS handshake (TLS alert: ${what})`;
      }
      return err.message;
    }
  }
}
