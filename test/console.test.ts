// The web console in real Chromium (Debian's, through playwright-core) against a simulated fleet
// on the XS engine and a real broker: the live fleet table, a partition seen as stale, a device's
// plots drawn from the history store, OTA uploads verified with the CLI's verifier and reason
// codes (a tampered package, a malformed one, a private key), a staged rollout started from the
// page that reaches "confirmed" on every device, and one halted from the page. Then the access
// rules of `canopy console` itself: no token, no answer, when it binds beyond 127.0.0.1.
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { EmbeddedBroker } from '../host/broker.ts';
import { RealClock } from '../host/xs/timers.ts';
import { SessionDriver } from '../host/transport.ts';
import { Session } from '../protocol/session/session.ts';
import { Topics } from '../protocol/topics.ts';
import { trustedKey, trustStoreJson, type TrustStore } from '../protocol/ota/trust.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { pack } from '../ota/pack.ts';
import { preflight } from '../ota/preflight.ts';
import { OtaError } from '../protocol/ota/reasons.ts';
import { Fleet } from '../sim/fleet.ts';
import { FleetWatcher } from '../fleet/devices.ts';
import { SqliteHistory } from '../fleet/sqlite-history.ts';
import { Rollouts } from '../console/rollouts.ts';
import { ConsoleServer } from '../console/server.ts';
import { COLORS } from '../console/web/colors.ts';
import { loadFixture } from './ota-support.ts';
import { launchChromium, screenshot } from './support/browser.ts';
import { canopy } from './support/run-canopy.ts';

// Functions given to page.evaluate and waitForFunction run in the page: these are its globals,
// not Node's (the host program is type-checked without the DOM library).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any;
type HTMLCanvasElement = any;
type HTMLProgressElement = any;

const key = signingKey(generateKeyPem('ES256'));
const trust: TrustStore = { threshold: 1, keys: [trustedKey(key.spki, 'release')] };
const image = loadFixture('esp32');
const packOptions = { vendor: 'acme', class: 'sensor-v1' };
const IDS = ['gh-1', 'gh-2', 'gh-3'];

const dir = mkdtempSync(join(tmpdir(), 'canopy-console-'));
const stateDir = join(dir, 'state');
const broker = new EmbeddedBroker({ port: 0 });
const clock = new RealClock();
let fleet: Fleet;
let watcher: FleetWatcher;
let driver: SessionDriver | undefined;
let history: SqliteHistory;
let server: ConsoleServer;
let browser: Browser;
let page: Page;
/** Every URL the page asked for. */
const requested: string[] = [];
/** The points put into the history store for gh-1, before the console starts. */
const stored = { at: [] as number[], temperature: [] as number[] };

function reasonOf(pkg: Uint8Array): OtaError {
  try {
    preflight(pkg, trust);
  } catch (e) {
    if (e instanceof OtaError) return e;
    throw e;
  }
  throw new Error('expected the package to be refused');
}

const rowState = (id: string) => page.getAttribute(`#fleet tr[data-device="${id}"]`, 'data-liveness');

async function upload(name: string, bytes: Uint8Array): Promise<{ reason: string | null; code: string | null; text: string }> {
  await page.setInputFiles('#package-file', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  const before = await page.$eval('#verdict-box', (e) => e.textContent ?? '');
  await page.click('#upload');
  await page.waitForFunction((b) => {
    const v = document.querySelector('#verdict');
    return v !== null && document.querySelector('#verdict-box')!.textContent !== b;
  }, before);
  return page.$eval('#verdict', (e) => ({ reason: e.getAttribute('data-reason'), code: e.getAttribute('data-code'), text: e.textContent ?? '' }));
}

beforeAll(async () => {
  browser = await launchChromium();
  await broker.start();
  // Known points an hour back to 30 s ago: the device page must draw exactly these.
  history = new SqliteHistory(join(dir, 'history.sqlite'));
  const now = Date.now();
  const rows = Array.from({ length: 60 }, (_, i) => {
    const at = now - 3_540_000 + i * 59_000;
    const temperature = Math.round((18 + 4 * Math.sin(i / 6)) * 10) / 10;
    stored.at.push(at);
    stored.temperature.push(temperature);
    return { device: 'gh-1', at, sample: { seq: 900_000 + i, ts: Math.floor(at / 1000), temperature, humidity: 55 - i / 4, lux: 200 + i * 10, motion: i % 9 === 0, dhtErrors: i > 40 ? 1 : 0 } };
  });
  history.insert(rows);

  fleet = await Fleet.create({
    engine: 'xs',
    groups: [{ prefix: 'gh', count: 3, intervalMs: 1000, qos: 1, keepalive: 5, dhtErrorRate: 0, motionPerHour: 20 }],
    brokerUrl: broker.url,
    clock,
    seed: 7,
    epoch: Math.floor(Date.now() / 1000),
    proxies: true,
    deviceConfig: { otaVendor: 'acme', otaClass: 'sensor-v1', otaTrust: trustStoreJson(trust), otaSelfTestMs: 4000 },
  });
  await fleet.boot();

  watcher = new FleetWatcher({ broker: broker.url });
  await watcher.start();
  const rollouts = new Rollouts(
    () => (driver ??= new SessionDriver(new Session({ clientId: 'console-test-rollouts', cleanSession: false, backoff: { baseMs: 20, capMs: 200 } }), broker.url).start()),
    new Topics('canopy'),
    stateDir,
  );
  server = await new ConsoleServer({ watcher, history, trust, rollouts, stateDir, port: 0, brokerDisplay: broker.url, tickMs: 250 }).start();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => console.error('page error:', err));
  page.on('request', (r) => requested.push(r.url()));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await watcher?.stop();
  await driver?.stop();
  await fleet?.dispose();
  history?.close();
  clock.cancelAll();
  await broker.stop();
}, 60_000);

describe('web console in Chromium', () => {
  it('shows the simulated fleet within 2 s of opening the page, live', async () => {
    const opened = performance.now();
    await page.goto(server.url);
    await page.waitForFunction((ids) => ids.every((id) => document.querySelector(`#fleet tr[data-device="${id}"]`)?.getAttribute('data-liveness') === 'online'), IDS, { timeout: 2000 });
    const ms = performance.now() - opened;
    expect(ms).toBeLessThan(2000);
    // Live: the last values move without a reload.
    const first = await page.$eval('#fleet tr[data-device="gh-1"] td.values', (e) => e.textContent);
    await page.waitForFunction((t) => document.querySelector('#fleet tr[data-device="gh-1"] td.values')?.textContent !== t, first, { timeout: 5000 });
    const text = await page.$eval('#fleet tr[data-device="gh-1"]', (e) => e.textContent ?? '');
    expect(text).toMatch(/°C/);
    expect(text).toMatch(/%RH/);
    expect(text).toMatch(/ lx/);
    await screenshot(page, 'fleet');
    // Everything from the console itself: no CDN, so it works offline.
    const origin = new URL(server.url).origin;
    expect(requested.filter((u) => !u.startsWith(origin + '/'))).toEqual([]);
    expect(requested.map((u) => new URL(u).pathname)).toEqual(expect.arrayContaining(['/', '/app.js', '/console.css', '/vendor/uplot.js', '/vendor/uplot.css', '/api/meta']));
  });

  it('shows a partitioned device as stale, then online again once healed', async () => {
    fleet.partition(['gh-3']);
    const cut = performance.now();
    await page.waitForFunction(() => document.querySelector('#fleet tr[data-device="gh-3"]')?.getAttribute('data-liveness') === 'stale', undefined, { timeout: 5000 });
    // Stale within two intervals of the last sample (1 s), long before the broker's keepalive (5 s) gives up.
    expect(performance.now() - cut).toBeLessThan(3000);
    expect(await rowState('gh-1')).toBe('online');
    await screenshot(page, 'fleet-stale');
    fleet.heal(['gh-3']);
    await page.waitForFunction(() => document.querySelector('#fleet tr[data-device="gh-3"]')?.getAttribute('data-liveness') === 'online', undefined, { timeout: 15_000 });
  }, 30_000);

  it("draws a device's telemetry from the history store, one uPlot per field, and follows the live tail", async () => {
    await page.click('#fleet tr[data-device="gh-1"] a');
    await page.waitForFunction(() => document.querySelector('#page')?.getAttribute('data-loaded') === 'true');
    const plotted = await page.evaluate(() => window.canopyPlots!);
    expect(Object.keys(plotted).sort()).toEqual(['dhtErrors', 'humidity', 'lux', 'motion', 'temperature']);
    // Exactly the stored points (the store has no others in the hour), in time order.
    expect(plotted.temperature.at.slice(0, stored.at.length)).toEqual(stored.at);
    expect(plotted.temperature.values.slice(0, stored.at.length)).toEqual(stored.temperature);
    expect(plotted.motion.values.slice(0, 10)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // The canvas has the temperature line on it: pixels of the series colour, not only axes.
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(COLORS.temperature.slice(i, i + 2), 16));
    const inked = await page.$eval(
      '[data-field="temperature"] canvas',
      (c, [r, g, b]) => {
        const canvas = c as HTMLCanvasElement;
        const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - r) < 40 && Math.abs(px[i + 1] - g) < 40 && Math.abs(px[i + 2] - b) < 40 && px[i + 3] > 100) n++;
        return n;
      },
      [r, g, b],
    );
    expect(inked).toBeGreaterThan(200);
    // Live tail: samples from the feed are appended after the stored ones.
    await page.waitForFunction((n) => window.canopyPlots!.temperature.at.length > n, stored.at.length, { timeout: 5000 });
    await screenshot(page, 'device');
    // A drag over the chart zooms in and stops following the tail.
    const box = (await page.$('[data-field="temperature"] .u-over'))!;
    const bb = (await box.boundingBox())!;
    await page.mouse.move(bb.x + bb.width * 0.2, bb.y + bb.height / 2);
    await page.mouse.down();
    await page.mouse.move(bb.x + bb.width * 0.5, bb.y + bb.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => !document.querySelector('button.on:not([data-range])'));
  }, 30_000);

  it('refuses a tampered package with the reason code `canopy ota verify` gives, and keeps nothing', async () => {
    await page.goto(server.url + '#/ota');
    const good = pack(image, [key], { ...packOptions, seq: 7 });
    const tampered = good.slice();
    tampered[tampered.length - 1000] ^= 0x01; // one bit of the image, after signing
    const expected = reasonOf(tampered);
    expect(expected.reason).toBe('chunk');
    const v = await upload('tampered.canopy', tampered);
    expect(v.reason).toBe(expected.reason);
    expect(v.code).toBe(String(expected.code));
    expect(v.text).toContain(`code ${expected.code}`);
    const stranger = pack(image, [signingKey(generateKeyPem('ES256'))], { ...packOptions, seq: 7 });
    expect(await upload('stranger.canopy', stranger)).toMatchObject({ reason: 'signature', code: '15' });
    await screenshot(page, 'ota-refused');
    expect(readdirSync(dir)).not.toContain('state');
  });

  it('refuses a malformed upload and a private key with a clear error, writing nothing', async () => {
    const listing = () => (readdirSync(dir).includes('state') ? readdirSync(join(stateDir, 'packages')) : []);
    const before = listing();
    const garbage = await upload('firmware.canopy', new TextEncoder().encode('this is not a package at all'));
    expect(garbage).toMatchObject({ reason: 'frame', code: '10' });
    expect(garbage.text).toMatch(/Nothing was kept/);
    const pem = generateKeyPem('ES256');
    const keyUpload = await upload('release.pem', new TextEncoder().encode(pem));
    expect(keyUpload.reason).toBe('private-key');
    expect(keyUpload.text).toMatch(/never takes signing keys/);
    // A DER key, straight to the API: refused by name as well.
    const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
    const derUpload = await fetch(server.url + 'api/packages', { method: 'POST', headers: { 'X-File-Name': 'release.der' }, body: der });
    expect(derUpload.status).toBe(400);
    expect(((await derUpload.json()) as { error: { reason: string } }).error.reason).toBe('private-key');
    expect(listing()).toEqual(before);
    const list = (await (await fetch(server.url + 'api/packages')).json()) as { packages: unknown[] };
    expect(list.packages).toEqual([]);
    // Straight to the API, too large: refused before it is read.
    const big = await fetch(server.url + 'api/packages', { method: 'POST', headers: { 'Content-Length': String(64 * 1024 * 1024) }, body: new Uint8Array(0) }).catch((e: Error) => e);
    if (!(big instanceof Error)) expect(big.status).toBe(413);
    expect(listing()).toEqual(before);
  });

  it('runs a staged rollout started from the page until every simulated XS device confirms', async () => {
    const v = await upload('sensor-7.canopy', pack(image, [key], { ...packOptions, seq: 7 }));
    expect(v.reason).toBe('ok');
    expect(readdirSync(join(stateDir, 'packages'))).toHaveLength(1);
    await page.fill('#fleet', 'gh-*');
    await page.fill('#canary', '1');
    await page.fill('#halt-percent', '10');
    await page.click('#start');
    // In progress: the canary receiving blocks, the rest waiting.
    await page
      .waitForFunction(() => [...document.querySelectorAll('#rollout-devices tr[data-device]')].some((r) => r.getAttribute('data-state') === 'receiving'), undefined, { timeout: 20_000 })
      .catch(async (e) => {
        await screenshot(page, 'rollout-failed');
        throw e;
      });
    await screenshot(page, 'rollout');
    // For the README: the canary confirmed and the first wave on its way (the transfer is quick, so
    // this artifact is best-effort; the assertions below do not depend on it).
    await page
      .waitForFunction(() => {
        const rows = [...document.querySelectorAll('#rollout-devices tr[data-device]')];
        return rows.some((r) => r.getAttribute('data-state') === 'confirmed') && rows.some((r) => r.getAttribute('data-state') === 'receiving' && Number(r.querySelector('progress')?.value) > 0);
      }, undefined, { timeout: 20_000, polling: 10 })
      .then(() => screenshot(page, 'rollout-wave'), () => undefined);
    await page.waitForFunction(() => document.querySelector('#rollout-state')?.getAttribute('data-state') === 'finished', undefined, { timeout: 90_000 });
    const states = await page.$$eval('#rollout-devices tr[data-device]', (rs) => rs.map((r) => [r.getAttribute('data-device'), r.getAttribute('data-state')]));
    expect(states).toEqual(IDS.map((id) => [id, 'confirmed']));
    expect(await page.$$eval('#rollout-devices tr[data-device] td:nth-child(2)', (ts) => ts.map((t) => t.textContent))).toEqual(['canary', 'wave 1', 'wave 1']);
    await screenshot(page, 'rollout-confirmed');
    // The devices say so themselves: the fleet table shows their new OTA state.
    await page.goto(server.url);
    await page.waitForFunction((ids) => ids.every((id) => /confirmed seq 7/.test(document.querySelector(`#fleet tr[data-device="${id}"]`)?.textContent ?? '')), IDS, { timeout: 10_000 });
    await screenshot(page, 'fleet-after-rollout');
  }, 150_000);

  it('halts a rollout from the page: the canary finishes, no wave starts', async () => {
    await page.goto(server.url + '#/ota');
    expect((await upload('sensor-8.canopy', pack(image, [key], { ...packOptions, seq: 8 }))).reason).toBe('ok');
    await page.fill('#fleet', 'gh-1,gh-2,gh-3');
    await page.click('#start');
    await page.waitForSelector('#halt');
    await page.click('#halt');
    await page.waitForFunction(() => document.querySelector('#rollout-state')?.getAttribute('data-state') === 'halted', undefined, { timeout: 60_000 });
    const states = await page.$$eval('#rollout-devices tr[data-device]', (rs) => rs.map((r) => r.getAttribute('data-state')));
    expect(states).toEqual(['confirmed', 'untouched', 'untouched']);
    expect(await page.textContent('#rollout-state')).toMatch(/halted by the operator/);
  }, 90_000);
});

describe('console API: what the OTA page can get wrong', () => {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(server.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, detail: ((await res.json()) as { error?: { detail: string } }).error?.detail ?? '' };
  };

  it('refuses a rollout it cannot run, with a sentence, and starts nothing', async () => {
    const { packages } = (await (await fetch(server.url + 'api/packages')).json()) as { packages: { id: string }[] };
    const id = packages[0].id;
    const before = ((await (await fetch(server.url + 'api/rollouts')).json()) as { rollouts: unknown[] }).rollouts.length;
    expect(await post('api/rollouts', { package: 'nope', fleet: 'gh-1' })).toEqual({ status: 400, detail: 'no such package here: upload it first' });
    expect(await post('api/rollouts', { package: id, fleet: 'zz-*' })).toEqual({ status: 400, detail: 'fleet "zz-*" matched no device online now' });
    expect(await post('api/rollouts', { package: id, fleet: '' })).toMatchObject({ status: 400, detail: expect.stringMatching(/fleet is required/) });
    expect(await post('api/rollouts', { package: id, fleet: 'gh-1', canary: 0 })).toEqual({ status: 400, detail: 'canary must be a whole number from 1 to 10000' });
    expect(await post('api/rollouts', { package: id, fleet: 'gh-1', haltPercent: 150 })).toEqual({ status: 400, detail: 'haltPercent must be a whole number from 0 to 100' });
    expect(await post('api/rollouts', 'not json')).toMatchObject({ status: 400, detail: expect.stringMatching(/not JSON/) });
    expect(await post('api/rollouts/99/halt', {})).toEqual({ status: 409, detail: 'rollout 99 is not running' });
    expect(((await (await fetch(server.url + 'api/rollouts')).json()) as { rollouts: unknown[] }).rollouts).toHaveLength(before);
  });

  it('without --trust refuses every upload, and without --db says the plots have no store', async () => {
    const bare = await new ConsoleServer({ watcher, stateDir: join(dir, 'state-bare'), port: 0, brokerDisplay: broker.url }).start();
    try {
      const res = await fetch(bare.url + 'api/packages', { method: 'POST', body: pack(image, [key], { ...packOptions, seq: 9 }) });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { reason: string; description: string } }).error).toMatchObject({ reason: 'no-trust', description: expect.stringMatching(/restart it with --trust/) });
      expect(readdirSync(dir)).not.toContain('state-bare');
      const h = await fetch(bare.url + 'api/history?device=gh-1');
      expect(h.status).toBe(409);
      expect(await h.text()).toMatch(/no history store: start it with --db/);
      expect((await fetch(server.url + 'api/history')).status).toBe(400);
    } finally {
      await bare.stop();
    }
  });
});

/** A raw request, so Host and Origin can be set as a hostile page would. */
function raw(url: string, headers: Record<string, string>, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('canopy console: who may use it', () => {
  it('on 127.0.0.1 answers only requests naming its own host, and state changes only from its own pages', async () => {
    const port = new URL(server.url).port;
    expect(await raw(server.url + 'api/devices', {})).toBe(200);
    expect(await raw(server.url + 'api/devices', { Host: `evil.example:${port}` })).toBe(403); // DNS rebinding
    expect(await raw(server.url + 'api/rollouts', { Origin: 'http://evil.example' }, 'POST')).toBe(403);
  });

  it('bound beyond 127.0.0.1 refuses every request and WebSocket without the token', async () => {
    const token = 'c0ns0le-t0ken-for-tests';
    const db = join(dir, 'recorded.sqlite');
    const child = spawn(process.execPath, [join(import.meta.dirname, '../bin/canopy.js'), 'console', '--broker', broker.url, '--host', '127.0.0.2', '--port', '0', '--token', token, '--state', join(dir, 'state-2'), '--db', db, '--record'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const started = Date.now();
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const m = /serving (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`canopy console exited ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/$/);
      for (const path of ['', 'api/devices', 'app.js', 'api/meta']) {
        const res = await fetch(url + path);
        expect(res.status, path).toBe(401);
        expect(await res.text()).toMatch(/access token/);
      }
      expect((await fetch(url + 'api/devices', { headers: { Authorization: 'Bearer wrong-token-but-long-enough' } })).status).toBe(401);
      expect((await fetch(url + 'api/devices', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(url + 'api/packages', { method: 'POST', body: 'x' })).status).toBe(401);
      expect((await fetch(`${url}api/devices?token=${token}`)).status).toBe(401); // not in an API URL
      const ws = new WebSocket(url.replace('http', 'ws') + 'ws');
      const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status).toBe(401);
      // The page link with ?token= sets the cookie, and the cookie then opens the pages.
      const link = await fetch(`${url}?token=${token}`, { redirect: 'manual' });
      expect(link.status).toBe(303);
      const cookie = link.headers.get('set-cookie')!.split(';')[0];
      expect((await fetch(url, { headers: { Cookie: cookie } })).status).toBe(200);
      // --record: the live samples it hears land in --db, and the plots read them back.
      const recorded = async () => {
        const res = await fetch(`${url}api/history?device=gh-2&since=${started}`, { headers: { Authorization: `Bearer ${token}` } });
        return ((await res.json()) as { fields: { temperature: { at: number[] } } }).fields.temperature.at;
      };
      // The recorder writes a batch each second; the store is asked again until one is there (10 s at most).
      let points = await recorded();
      for (const deadline = Date.now() + 10_000; points.length === 0 && Date.now() < deadline; points = await recorded()) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(points.length).toBeGreaterThan(0);
      expect(points.every((t) => t >= started - 2000)).toBe(true);
    } finally {
      child.kill('SIGTERM');
      expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    }
  }, 30_000);

  it('refuses to bind beyond 127.0.0.1 without a token, or with a short one', async () => {
    const noToken = await canopy('console', '--broker', broker.url, '--host', '0.0.0.0');
    expect(noToken.code).toBe(2);
    expect(noToken.err).toMatch(/--host 0.0.0.0 needs --token T/);
    const short = await canopy('console', '--broker', broker.url, '--host', '127.0.0.2', '--token', 'short');
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/at least 16 characters/);
    const unreachable = await canopy('console', '--broker', 'mqtt://127.0.0.1:1', '--port', '0');
    expect([unreachable.code, unreachable.err]).toEqual([1, expect.stringMatching(/cannot reach the broker at 127.0.0.1:1: .*connection refused/)]);
    const noBroker = await canopy('console');
    expect([noBroker.code, noBroker.err]).toEqual([2, expect.stringMatching(/--broker URL is required/)]);
    const taken = await canopy('console', '--broker', broker.url, '--port', new URL(server.url).port);
    expect([taken.code, taken.err]).toEqual([2, expect.stringMatching(/port \d+ is in use on 127.0.0.1; pick another with --port N/)]);
    const missing = await canopy('console', '--broker', broker.url, '--db', join(dir, 'nope.sqlite'));
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/no history database at/)]);
    writeFileSync(join(dir, 'bad-trust.json'), '{"keys": 3}');
    const badTrust = await canopy('console', '--broker', broker.url, '--trust', join(dir, 'bad-trust.json'));
    expect([badTrust.code, badTrust.err]).toEqual([1, expect.stringMatching(/is not a trust store/)]);
  });
});
