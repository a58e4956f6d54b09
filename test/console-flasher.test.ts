// The console's browser flasher in real Chromium, with unmodified esptool-js (its own browser
// build, served by the console) talking to the fake ESP32 ROM loader of sim/fake-esp32: the page
// gets a stand-in `navigator.serial` whose one port is bridged over a WebSocket to the fake in
// this process (bytes both ways, DTR/RTS as JSON), so the auto-reset circuit, SLIP, the stub
// upload and the compressed writes all run as on a board. The ESP-IDF fixture build must land in
// the fake's flash byte for byte, and the ESP32-C3 image must be refused before anything is written.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer, type WebSocket as NodeSocket } from 'ws';
import { EmbeddedBroker } from '../host/broker.ts';
import { FleetWatcher } from '../fleet/devices.ts';
import { ConsoleServer } from '../console/server.ts';
import { FakeEsp32, OP } from '../sim/fake-esp32/rom.ts';
import { trustedKey, type TrustStore } from '../protocol/ota/trust.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { pack } from '../ota/pack.ts';
import { launchChromium, screenshot } from './support/browser.ts';

// Functions given to page.evaluate and waitForFunction run in the page: these are its globals,
// not Node's (the host program is type-checked without the DOM library).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any, navigator: any, WebSocket: any;
type HTMLCanvasElement = any;
type HTMLProgressElement = any;

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');
const fixture = (chip: string, file: string) => join(FIXTURES, chip, file);
const ESP32_BUILD: [number, string][] = [
  [0x1000, 'bootloader.bin'],
  [0x8000, 'partition-table.bin'],
  [0x10000, 'hello_world.bin'],
];

const key = signingKey(generateKeyPem('ES256'));
const trust: TrustStore = { threshold: 1, keys: [trustedKey(key.spki, 'release')] };
const broker = new EmbeddedBroker({ port: 0 });
let watcher: FleetWatcher;
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let bridge: WebSocketServer;
let bridgeUrl: string;
/** The board on the other end of the page's serial port, new for each test. */
let chip: FakeEsp32;

/** Runs in the page before its scripts: a Web Serial port whose wire is a WebSocket to `url`. */
function standInSerial(url: string): void {
  class BridgedPort {
    readable: ReadableStream<Uint8Array> | null = null;
    writable: WritableStream<Uint8Array> | null = null;
    private ws: any;
    getInfo() {
      return { usbVendorId: 0x10c4, usbProductId: 0xea60 }; // a CP2102 bridge
    }
    async open(options: { baudRate: number }) {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      await new Promise((ok, fail) => {
        ws.onopen = ok;
        ws.onerror = fail;
      });
      ws.send(JSON.stringify({ open: options.baudRate }));
      this.ws = ws;
      this.readable = new ReadableStream({
        start(c) {
          ws.onmessage = (m: { data: ArrayBuffer }) => c.enqueue(new Uint8Array(m.data));
          ws.onclose = () => {
            try {
              c.close();
            } catch {
              // cancelled by the reader already
            }
          };
        },
        cancel() {
          ws.onmessage = null;
        },
      });
      this.writable = new WritableStream({ write: (chunk) => ws.send(chunk) });
    }
    async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean }) {
      this.ws?.send(JSON.stringify({ signals: { dtr: s.dataTerminalReady, rts: s.requestToSend } }));
    }
    async close() {
      this.ws?.close();
      this.readable = null;
      this.writable = null;
    }
  }
  const port = new BridgedPort();
  Object.defineProperty(navigator, 'serial', { configurable: true, value: { requestPort: async () => port, getPorts: async () => [port] } });
}

beforeAll(async () => {
  browser = await launchChromium();
  await broker.start();
  watcher = new FleetWatcher({ broker: broker.url });
  await watcher.start();
  server = await new ConsoleServer({ watcher, trust, stateDir: mkdtempSync(join(tmpdir(), 'canopy-flasher-')), port: 0, brokerDisplay: broker.url }).start();
  bridge = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => bridge.once('listening', r));
  bridgeUrl = `ws://127.0.0.1:${(bridge.address() as { port: number }).port}`;
  bridge.on('connection', (ws: NodeSocket) => {
    const board = chip;
    board.transmit = (bytes) => ws.readyState === ws.OPEN && ws.send(bytes);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(String(data)) as { signals?: { dtr?: boolean; rts?: boolean } };
        if (m.signals) board.setSignals(m.signals);
        return;
      }
      const bytes = new Uint8Array(data as Buffer);
      // On a later turn, as a wire delivers, so a reply never re-enters the writer.
      setImmediate(() => board.receive(bytes));
    });
  });
  // The stand-in port's wire goes to this test's bridge, another origin than the console's, which
  // the console's Content-Security-Policy would block: the scaffolding is exempted, not the page.
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.addInitScript(standInSerial, bridgeUrl);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  bridge?.close();
  await server?.stop();
  await watcher?.stop();
  await broker.stop();
});

const padded = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4, 0xff)]);

async function connect(): Promise<string | null> {
  await page.click('#connect');
  await page.waitForFunction(() => document.querySelector('#chip')?.hasAttribute('data-chip') || document.querySelector('#flash-result [data-outcome]'), undefined, { timeout: 30_000 });
  return page.getAttribute('#chip', 'data-chip');
}

describe('browser flasher in Chromium, esptool-js against the fake ESP32 ROM loader', () => {
  it('identifies the chip and writes the ESP-IDF fixture build byte for byte, with progress, verified by MD5', async () => {
    chip = new FakeEsp32({ startIn: 'app', initialFill: 0x00 }); // an old firmware everywhere
    await page.goto(server.url + '#/flash');
    await page.setInputFiles('#flash-files', ESP32_BUILD.map(([, f]) => fixture('esp32', f)));
    const plan = await page.$$eval('#plan-table tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 4).map((t) => t.textContent)));
    expect(plan).toEqual([
      ['0x1000', 'bootloader.bin', 'bootloader', 'ESP32'],
      ['0x8000', 'partition-table.bin', 'partition-table', ''],
      ['0x10000', 'hello_world.bin', 'app', 'ESP32'],
    ]);
    expect(await connect()).toBe('ESP32');
    expect(await page.textContent('#chip')).toMatch(/ESP32-D0WD-V3/);
    // The auto-reset lines took the running board into the loader; the stub is up.
    expect([chip.mode, chip.stub]).toEqual(['download', true]);
    await page.click('#flash');
    await page.waitForFunction(() => document.querySelector('#flash-result [data-outcome]'), undefined, { timeout: 60_000 });
    await screenshot(page, 'flasher');
    expect(await page.getAttribute('#flash-result [data-outcome]', 'data-outcome')).toBe('flashed');
    expect(await page.$eval('#flash-progress', (p) => (p as HTMLProgressElement).value)).toBe(100);
    for (const [address, file] of ESP32_BUILD) {
      const want = padded(readFileSync(fixture('esp32', file)));
      expect(Buffer.from(chip.flash.subarray(address, address + want.length)).equals(want), file).toBe(true);
    }
    expect(chip.commands).toContain(OP.FLASH_DEFL_BEGIN);
    expect(chip.commands).toContain(OP.SPI_FLASH_MD5);
    // Reset into the new firmware at the end.
    expect(chip.mode).toBe('app');
  }, 120_000);

  it('refuses the ESP32-C3 image on an ESP32 before anything is written', async () => {
    chip = new FakeEsp32({ startIn: 'app' });
    await page.goto(server.url + '#/flash');
    await page.reload();
    await page.setInputFiles('#flash-files', [fixture('esp32-c3', 'hello_world.bin')]);
    expect(await page.$$eval('#plan-table tbody tr td:nth-child(4)', (t) => t.map((x) => x.textContent))).toEqual(['ESP32-C3']);
    expect(await connect()).toBe('ESP32');
    expect(await page.textContent('#flash-result [data-warning]')).toMatch(/built for ESP32-C3, but the board is an ESP32: Flash will refuse it/);
    await page.click('#flash');
    await page.waitForSelector('#flash-result [data-outcome]');
    expect(await page.getAttribute('#flash-result [data-outcome]', 'data-outcome')).toBe('chip-mismatch');
    expect(await page.textContent('#flash-result')).toMatch(/hello_world\.bin is built for ESP32-C3, but the board is an ESP32; nothing was written/);
    await screenshot(page, 'flasher-wrong-chip');
    for (const op of [OP.FLASH_BEGIN, OP.FLASH_DEFL_BEGIN, OP.ERASE_FLASH, OP.ERASE_REGION]) expect(chip.commands).not.toContain(op);
    expect(chip.flash.every((b) => b === 0xff)).toBe(true);
  }, 60_000);

  it("plans an ESP-IDF build folder from its flasher_args.json offsets", async () => {
    const build = mkdtempSync(join(tmpdir(), 'canopy-build-'));
    mkdirSync(join(build, 'bootloader'));
    mkdirSync(join(build, 'partition_table'));
    copyFileSync(fixture('esp32', 'bootloader.bin'), join(build, 'bootloader/bootloader.bin'));
    copyFileSync(fixture('esp32', 'partition-table.bin'), join(build, 'partition_table/partition-table.bin'));
    copyFileSync(fixture('esp32', 'hello_world.bin'), join(build, 'hello_world.bin'));
    writeFileSync(join(build, 'flasher_args.json'), JSON.stringify({ flash_files: { '0x1000': 'bootloader/bootloader.bin', '0x8000': 'partition_table/partition-table.bin', '0x20000': 'hello_world.bin' } }));
    await page.goto(server.url + '#/flash');
    await page.setInputFiles('#flash-folder', build);
    await page.waitForSelector('#plan-table');
    const plan = await page.$$eval('#plan-table tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((t) => t.textContent)));
    expect(plan).toEqual([
      ['0x1000', 'bootloader/bootloader.bin', 'bootloader'],
      ['0x8000', 'partition_table/partition-table.bin', 'partition-table'],
      ['0x20000', 'hello_world.bin', 'app'],
    ]);
  });

  it("writes a signed package's app image once the console has verified it, and refuses a tampered one", async () => {
    chip = new FakeEsp32({ startIn: 'app' });
    const image = readFileSync(fixture('esp32', 'hello_world.bin'));
    const pkg = pack(new Uint8Array(image), [key], { seq: 3, vendor: 'acme', class: 'sensor-v1' });
    await page.goto(server.url + '#/flash');
    await page.reload();
    const tampered = Buffer.from(pkg);
    tampered[tampered.length - 500] ^= 0x40;
    await page.setInputFiles('#flash-files', [{ name: 'bad.canopy', mimeType: 'application/octet-stream', buffer: tampered }]);
    await page.waitForSelector('#verdict');
    expect(await page.getAttribute('#verdict', 'data-reason')).toBe('chunk');
    expect(await page.isDisabled('#flash')).toBe(true);
    await page.setInputFiles('#flash-files', [{ name: 'sensor-3.canopy', mimeType: 'application/octet-stream', buffer: Buffer.from(pkg) }]);
    await page.waitForSelector('#plan-table');
    expect(await page.getAttribute('#verdict', 'data-reason')).toBe('ok');
    expect(await connect()).toBe('ESP32');
    await page.click('#flash');
    await page.waitForFunction(() => document.querySelector('#flash-result [data-outcome]'), undefined, { timeout: 60_000 });
    expect(await page.getAttribute('#flash-result [data-outcome]', 'data-outcome')).toBe('flashed');
    const want = padded(image);
    expect(Buffer.from(chip.flash.subarray(0x10000, 0x10000 + want.length)).equals(want)).toBe(true);
  }, 120_000);
});
