// `canopy bridge` without the command line: one broker session subscribed to the fleet, every
// message through the BridgeCore (fleet/bridge-core.ts), its publications sent back to the broker
// and its rows into the history store in batches (fleet/recorder.ts). Long-running: after the
// first connection it rides out broker restarts (the session reconnects; the broker keeps the
// bridge's persistent session and queues QoS 1 samples meanwhile). A history store that fails
// ends it: 'failed' fires, and the caller stops with a message rather than dropping samples.
import { EventEmitter } from 'node:events';
import { Session } from '../protocol/session/session.ts';
import { Outbox } from '../protocol/session/outbox.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import { SessionDriver, type BrokerAddress, type TlsFiles } from '../host/transport.ts';
import { BrokerUnreachable } from './devices.ts';
import { BridgeCore, type BridgeCoreOptions } from './bridge-core.ts';
import { HistoryError, type HistoryRow, type HistoryStore } from './history.ts';
import { HistoryBatcher, type RecorderOptions } from './recorder.ts';

const UTF8 = new TextEncoder();

export interface BridgeOptions extends BridgeCoreOptions {
  broker: string | BrokerAddress;
  tls?: TlsFiles;
  /** Stable, so the broker keeps the bridge's session (and queues samples) across its restarts. */
  clientId?: string;
  store: HistoryStore;
  batch?: RecorderOptions;
  /** Delete samples older than this (ms), at start and then every hour; keep all when absent. */
  retentionMs?: number;
  /** Give up on the first connection after this long (ms). Default 10,000. */
  connectTimeoutMs?: number;
  now?: () => number;
}

/**
 * Emits 'stored' (rows) after each batch, 'failed' (HistoryError) once when the store fails,
 * 'session' (event) for connection changes, 'decode-error' (message) for a record that did not
 * decode, and 'publish-dropped' (topic) when the outbox overflowed (the broker took nothing for
 * a long while).
 */
export class Bridge extends EventEmitter {
  readonly core: BridgeCore;
  readonly batcher: HistoryBatcher;
  readonly driver: SessionDriver;
  private readonly now: () => number;
  private pruneTimer: NodeJS.Timeout | undefined;
  private failed = false;

  constructor(private readonly options: BridgeOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.core = new BridgeCore(options);
    this.batcher = new HistoryBatcher(options.store, options.batch);
    this.batcher.on('written', (rows: HistoryRow[]) => this.emit('stored', rows));
    this.batcher.on('failed', (err: HistoryError) => this.fail(err));
    void options.store.whenLost?.then((err) => this.fail(err));
    const session = new Session({
      clientId: options.clientId ?? 'canopy-bridge',
      cleanSession: false,
      keepalive: 30,
      backoff: { baseMs: 200, capMs: 5000 },
      // The bridge's own publishes are many: a JSON state per sample, and at start seven discovery
      // configs per device (14,000 for 2,000 devices). A device's session outbox (1,000 messages)
      // would drop most of them; a server's bounds hold them all. (Not 'latest-per-topic': it
      // scans the queue on every add, quadratic in a burst this size.)
      outbox: new Outbox({ maxMessages: 200_000, maxBytes: 256 * 1024 * 1024 }),
      inflightWindow: 500,
    });
    this.driver = new SessionDriver(session, options.broker, { tls: options.tls });
  }

  /** Connects and subscribes; resolves on the SUBACK, rejects with BrokerUnreachable if the first connection fails. */
  start(): Promise<void> {
    const { host, port } = this.driver.address;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const filters = this.core.filters();
    return new Promise<void>((resolve, reject) => {
      let connected = false;
      let subscribed = 0;
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.driver.kill();
        reject(new BrokerUnreachable(`cannot reach the broker at ${host}:${port}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      this.driver.on('event', (e: SessionEvent) => {
        if (e.type === 'message') return this.onMessage(e.topic, e.payload, e.retain);
        if (e.type === 'dropped') {
          if (e.reason === 'overflow') this.emit('publish-dropped', e.topic);
          return;
        }
        if (e.type === 'delivered') return;
        if (e.type === 'connected') connected = true;
        else if (e.type === 'connect-refused' && !settled) return fail(`it refused the connection (${e.reason})`);
        else if (e.type === 'connection-lost' && !connected) return fail(e.reason);
        else if (e.type === 'subscribe-failed' && !settled) return fail(`it refused the subscription to ${e.filter}`);
        else if (e.type === 'subscribed' && !settled && ++subscribed === filters.length) {
          settled = true;
          clearTimeout(timer);
          resolve();
        }
        this.emit('session', e);
      });
      this.driver.subscribe(filters.map((topic) => ({ topic, qos: 1 as const })));
      this.driver.start();
    }).then(() => this.startRetention());
  }

  /** Stores what waits, then leaves the broker. The store is the caller's to close. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.batcher.stop();
    await this.driver.stop();
  }

  private onMessage(topic: string, payload: Uint8Array, retain: boolean): void {
    const out = this.core.handle({ topic, payload, retain }, this.now());
    for (const p of out.publish) this.driver.publish(p.topic, UTF8.encode(p.payload), { qos: p.qos, retain: p.retain });
    if (out.row) this.batcher.add(out.row);
    if (out.error) this.emit('decode-error', out.error);
  }

  private startRetention(): void {
    const keep = this.options.retentionMs;
    if (keep === undefined) return;
    const prune = () =>
      this.options.store.prune(this.now() - keep).then(
        (n) => this.emit('pruned', n),
        (err: unknown) => this.fail(err instanceof HistoryError ? err : new HistoryError(`pruning ${this.options.store.display} failed: ${(err as Error).message}`)),
      );
    void prune();
    this.pruneTimer = setInterval(prune, Math.min(3_600_000, Math.max(1000, keep / 4)));
    this.pruneTimer.unref();
  }

  private fail(err: HistoryError): void {
    if (this.failed) return;
    this.failed = true;
    this.emit('failed', err);
  }
}
