// `canopy console`'s server: node:http for the pages and a small JSON API, ws for the live feed
// (fleet rows as they change, samples for the plots' live tail, rollout progress). The fleet comes
// from a FleetWatcher (fleet/devices.ts: retained status, info, health and OTA status folded into
// rows), the plots from a HistoryStore (fleet/history.ts), packages and rollouts from the OTA
// library. Access rules are in access.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FleetWatcher } from '../fleet/devices.ts';
import { deviceJson } from '../fleet/devices.ts';
import type { HistoryStore } from '../fleet/history.ts';
import type { Sample } from '../protocol/telemetry.ts';
import type { TrustStore } from '../protocol/ota/trust.ts';
import { check, DEFAULT_HOST, TOKEN_COOKIE, type AccessPolicy } from './access.ts';
import { buildAssets, type Asset } from './assets.ts';
import { FIELD_UNITS, HISTORY_FIELDS } from './fields.ts';
import { MAX_UPLOAD, packageJson, PackageStore, verifyUpload, type Refusal } from './packages.ts';
import { parseRolloutRequest, RolloutError, Rollouts, type RolloutView } from './rollouts.ts';

export interface ConsoleOptions {
  /** Started: its registry holds the fleet. */
  watcher: FleetWatcher;
  history?: HistoryStore;
  trust?: TrustStore;
  /** Rollouts run here; without it the OTA page can verify but not roll out. */
  rollouts?: Rollouts;
  stateDir: string;
  /** Default 127.0.0.1. Anything else needs `token`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  token?: string;
  /** The broker as it may be shown (no password). */
  brokerDisplay: string;
  /** Unix ms; Date.now by default. */
  now?: () => number;
  /** How often rows are judged again (stale detection) when no message comes. Default 1000 ms. */
  tickMs?: number;
}

/** Points per field a plot is given at most: the newest are kept. */
export const HISTORY_LIMIT = 20_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ConsoleServer {
  readonly packages: PackageStore;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private assets = new Map<string, Asset>();
  private policy: AccessPolicy;
  private readonly sent = new Map<string, string>();
  private tickTimer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly onDevice = () => (this.soon ??= setTimeout(() => this.tick(), 50));
  private readonly onSample = (device: string, sample: Sample, at: number) => this.broadcast({ type: 'sample', device, at, sample });
  private readonly onRollout = (view: RolloutView) => this.broadcast({ type: 'rollout', rollout: view });

  constructor(private readonly options: ConsoleOptions) {
    const host = options.host ?? DEFAULT_HOST;
    if (host !== DEFAULT_HOST && !options.token) throw new Error(`binding ${host} needs an access token`);
    this.policy = { host, port: options.port ?? 0, token: options.token };
    this.now = options.now ?? Date.now;
    this.packages = new PackageStore(options.stateDir, options.trust);
  }

  get url(): string {
    const h = this.policy.host.includes(':') ? `[${this.policy.host}]` : this.policy.host;
    return `http://${h}:${this.policy.port}/`;
  }

  async start(): Promise<this> {
    this.assets = await buildAssets();
    const server = createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://console');
      const v = url.pathname === '/ws' ? check(req, url, this.policy, true) : { ok: false as const, status: 403 as const, message: 'not found' };
      if (!v.ok) {
        socket.end(`HTTP/1.1 ${v.status} ${v.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${v.message}\n`);
        return;
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.welcome(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.policy.port, this.policy.host, () => resolve());
    });
    this.policy = { ...this.policy, port: (server.address() as AddressInfo).port };
    this.server = server;
    this.options.watcher.on('device', this.onDevice);
    this.options.watcher.on('sample', this.onSample);
    this.options.rollouts?.on('update', this.onRollout);
    this.tickTimer = setInterval(() => this.tick(), this.options.tickMs ?? 1000);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.tickTimer);
    clearTimeout(this.soon);
    this.options.watcher.off('device', this.onDevice);
    this.options.watcher.off('sample', this.onSample);
    this.options.rollouts?.off('update', this.onRollout);
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  /** Rows as the pages get them: ages are left to the page, so an unchanged device sends nothing. */
  rows(): Record<string, unknown>[] {
    const now = this.now();
    return this.options.watcher.rows().map((r) => {
      const { lastSampleAgeS: _a, ...row } = deviceJson(r, now);
      return row;
    });
  }

  private tick(): void {
    clearTimeout(this.soon);
    this.soon = undefined;
    const changed = [];
    for (const row of this.rows()) {
      const text = JSON.stringify(row);
      if (this.sent.get(row.id as string) === text) continue;
      this.sent.set(row.id as string, text);
      changed.push(row);
    }
    if (changed.length) this.broadcast({ type: 'rows', rows: changed });
  }

  private welcome(ws: WebSocket): void {
    ws.send(JSON.stringify({ type: 'hello', now: this.now(), rows: this.rows(), rollouts: this.options.rollouts?.list() ?? [] }));
  }

  private broadcast(message: Record<string, unknown>): void {
    if (!this.wss?.clients.size) return;
    const text = JSON.stringify({ ...message, now: this.now() });
    for (const ws of this.wss.clients) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const method = req.method ?? 'GET';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Scripts, styles, fetches and the WebSocket from this console only ('self' covers ws:// to it).
    res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    const v = check(req, url, this.policy, method !== 'GET' && method !== 'HEAD');
    if (!v.ok) return send(res, v.status, { error: { reason: v.status === 401 ? 'token' : 'forbidden', detail: v.message } });
    try {
      // A person following `/?token=T` gets the cookie and a URL without the token in it.
      if (this.policy.token && url.searchParams.has('token') && method === 'GET' && !url.pathname.startsWith('/api/')) {
        res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(url.searchParams.get('token')!)}; HttpOnly; SameSite=Strict; Path=/`);
        res.writeHead(303, { Location: url.pathname });
        return void res.end();
      }
      if (url.pathname.startsWith('/api/')) return await this.api(req, res, url, method);
      const asset = method === 'GET' || method === 'HEAD' ? this.assets.get(url.pathname) : undefined;
      if (!asset) return send(res, 404, { error: { reason: 'not-found', detail: `no ${url.pathname} here` } });
      res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': asset.body.length });
      res.end(method === 'HEAD' ? undefined : asset.body);
    } catch (err) {
      if (err instanceof HttpError) return send(res, err.status, { error: { reason: err.status === 413 ? 'too-large' : 'bad-request', detail: err.message } });
      if (err instanceof RolloutError) return send(res, err.status, { error: { reason: 'rollout', detail: err.message } });
      if (err instanceof SyntaxError) return send(res, 400, { error: { reason: 'bad-request', detail: `the request is not JSON: ${err.message}` } });
      send(res, 500, { error: { reason: 'internal', detail: (err as Error).message } });
    }
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const route = `${method} ${url.pathname}`;
    if (route === 'GET /api/meta') {
      return send(res, 200, { broker: this.options.brokerDisplay, trust: this.options.trust !== undefined, history: this.options.history !== undefined, rollouts: this.options.rollouts !== undefined, fields: HISTORY_FIELDS.map((f) => ({ name: f, ...FIELD_UNITS[f] })), now: this.now() });
    }
    if (route === 'GET /api/devices') return send(res, 200, { now: this.now(), rows: this.rows() });
    if (route === 'GET /api/history') return send(res, 200, await this.history(url));
    if (route === 'GET /api/packages') return send(res, 200, { packages: this.packages.list().map(packageJson) });
    if (route === 'POST /api/packages' || route === 'POST /api/verify') {
      const name = fileName(req);
      const bytes = await readBody(req, MAX_UPLOAD);
      // /api/verify (the flasher's check of a package) keeps nothing; /api/packages keeps what passes.
      const v = route === 'POST /api/verify' ? verifyUpload(bytes, name, this.options.trust) : this.packages.add(bytes, name);
      if (!v.ok) return send(res, v.refusal.status, { error: v.refusal satisfies Refusal });
      return send(res, route === 'POST /api/verify' ? 200 : 201, { package: packageJson(v.pkg) });
    }
    if (route === 'GET /api/rollouts') return send(res, 200, { rollouts: this.options.rollouts?.list() ?? [] });
    if (route === 'POST /api/rollouts') {
      const rollouts = this.options.rollouts;
      if (!rollouts) throw new RolloutError('this console has no broker session for rollouts', 409);
      const body = JSON.parse(Buffer.from(await readBody(req, 64 * 1024)).toString('utf8') || '{}') as Record<string, unknown>;
      const pkg = this.packages.get(String(body.package ?? ''));
      if (!pkg) throw new RolloutError('no such package here: upload it first');
      const online = this.options.watcher.rows().filter((r) => r.liveness === 'online').map((r) => r.id);
      return send(res, 201, { rollout: rollouts.start(pkg, parseRolloutRequest(body), online) });
    }
    const halt = /^POST \/api\/rollouts\/(\d+)\/halt$/.exec(route);
    if (halt && this.options.rollouts) return send(res, 200, { rollout: this.options.rollouts.halt(Number(halt[1])) });
    send(res, 404, { error: { reason: 'not-found', detail: `no ${route} here` } });
  }

  private async history(url: URL): Promise<Record<string, unknown>> {
    const store = this.options.history;
    if (!store) throw new HttpError(409, 'this console has no history store: start it with --db');
    const device = url.searchParams.get('device');
    if (!device) throw new HttpError(400, 'device is required');
    const now = this.now();
    const since = Number(url.searchParams.get('since') ?? now - 3_600_000);
    const until = Number(url.searchParams.get('until') ?? now + 1);
    if (!Number.isFinite(since) || !Number.isFinite(until)) throw new HttpError(400, 'since and until are Unix ms');
    const fields: Record<string, { unit: string; label: string; at: number[]; values: (number | null)[] }> = {};
    for (const field of HISTORY_FIELDS) {
      // Awaited: a server database's store may answer asynchronously.
      const points = await store.query({ device, field, since, until, limit: HISTORY_LIMIT });
      fields[field] = { ...FIELD_UNITS[field], at: points.map((p) => p.at), values: points.map((p) => p.value) };
    }
    return { device, since, until, fields };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function fileName(req: IncomingMessage): string {
  const raw = req.headers['x-file-name'];
  const name = typeof raw === 'string' ? decodeURIComponent(raw) : 'upload';
  return name.replace(/[^\w.+-]/g, '_').slice(0, 120) || 'upload';
}

/** The whole body, or a 413 as soon as it passes `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new HttpError(413, `the upload is ${declared} bytes; at most ${limit} are accepted`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new HttpError(413, `the upload is larger than ${limit} bytes`));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}
