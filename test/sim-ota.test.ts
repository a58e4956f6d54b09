// Signed OTA end to end in the simulator: `canopy ota push` logic (OtaPusher) against simulated
// devices running the device app on the real XS engine, with the installer in the guest over a
// two-slot virtual flash kept by the host. A partition and a power cut in the middle of the
// transfer; a device whose new image fails its self-test rolls back and says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { SessionDriver } from '../host/transport.ts';
import { XsDevice } from '../sim/xs-device.ts';
import { RealClock } from '../host/xs/timers.ts';
import type { SensorSource, SimDeviceEvent } from '../sim/sim-device.ts';
import { Session } from '../protocol/session/session.ts';
import { trustedKey, trustStoreJson } from '../protocol/ota/trust.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { pack } from '../ota/pack.ts';
import { OtaPusher } from '../ota/push.ts';
import { FaultProxy } from '../sim/fault-proxy.ts';
import { deviceBundle } from './support/device-bundle.ts';
import { loadFixture } from './ota-support.ts';

const key = signingKey(generateKeyPem('ES256'));
const otaTrust = trustStoreJson({ threshold: 1, keys: [trustedKey(key.spki, 'release')] });
const image = loadFixture('esp32');
const pkg = pack(image, [key], { seq: 7, vendor: 'acme', class: 'sensor-v1' });

/** Events a device reports, with a wait that resolves on the event that satisfies it. */
class EventLog {
  readonly events: SimDeviceEvent[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly push = (e: SimDeviceEvent) => {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  };
  until(check: (events: SimDeviceEvent[]) => boolean): Promise<void> {
    if (check(this.events)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check: () => check(this.events), resolve }));
  }
}

class Sensors implements SensorSource {
  constructor(private readonly working = true) {}
  climate() {
    return this.working ? { temperature: 21.5, humidity: 40, errors: 0 } : { temperature: null, humidity: null, errors: 1 };
  }
  light() {
    return this.working ? 120 : null;
  }
  motion() {
    return false;
  }
}

describe('OTA push to simulated devices on the XS engine', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  const clock = new RealClock();
  const devices: XsDevice[] = [];
  const proxies: FaultProxy[] = [];
  let pusher: SessionDriver;

  beforeAll(async () => {
    await broker.start();
    pusher = new SessionDriver(new Session({ clientId: 'pusher', cleanSession: false, backoff: { baseMs: 20, capMs: 200 } }), broker.url).start();
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.powerCut()));
    await Promise.all(proxies.map((p) => p.stop()));
    await pusher.stop();
    clock.cancelAll();
    await broker.stop();
  });

  async function device(id: string, sensors: SensorSource, log = new EventLog()): Promise<{ device: XsDevice; proxy: FaultProxy }> {
    const proxy = await new FaultProxy({ upstreamHost: '127.0.0.1', upstreamPort: broker.port }).start();
    proxies.push(proxy);
    const d = new XsDevice({
      code: (await deviceBundle()).code,
      config: { deviceId: id, broker: proxy.url, intervalMs: 1000, keepalive: 5, otaVendor: 'acme', otaClass: 'sensor-v1', otaTrust, otaSelfTestMs: 4000 },
      clock,
      sensors,
      epoch: 1_780_272_000,
      onEvent: log.push,
    });
    devices.push(d);
    await d.boot();
    return { device: d, proxy };
  }

  it('installs, survives a partition and a power cut mid-transfer, self-tests and confirms; no completed block is sent twice', async () => {
    const a = await device('ota-a', new Sensors());
    const b = await device('ota-b', new Sensors());
    let cut = false;
    let parted = false;
    const push = new OtaPusher(pusher, pkg, ['ota-a', 'ota-b'], {
      idleTimeoutMs: 30_000,
      reofferMs: 500,
      onStatus: (id, s) => {
        if (id === 'ota-a' && !parted && s.state === 'receiving' && s.done >= s.total / 3) {
          parted = true;
          a.proxy.partition();
          setTimeout(() => a.proxy.heal(), 1500);
        }
        if (id === 'ota-b' && !cut && s.state === 'receiving' && s.done >= s.total / 2) {
          cut = true;
          void b.device.powerCut().then(() => setTimeout(() => void b.device.boot(), 300));
        }
      },
    });
    const results = await push.run();
    expect(parted && cut).toBe(true);
    expect(results.map((r) => [r.deviceId, r.state])).toEqual([
      ['ota-a', 'confirmed'],
      ['ota-b', 'confirmed'],
    ]);
    // Only blocks in flight when the link or the power went are sent again (a window each).
    expect(push.stats.resentBlocks).toBeLessThanOrEqual(2 * 16);
    for (const d of [a.device, b.device]) {
      const { flash } = d.flash.ota;
      // Every completed block was programmed once; at most the one cut between its write and
      // its progress record is written again after the reboot.
      expect(flash.bytesWritten).toBeGreaterThanOrEqual(image.length);
      expect(flash.bytesWritten).toBeLessThanOrEqual(image.length + 4096);
      expect(flash.runningState()).toBe('valid');
      expect(Buffer.from(flash.runningImage(image.length)).equals(Buffer.from(image))).toBe(true);
    }
  }, 90_000);

  it('a new image that fails its self-test (no good sensor reading) rolls back and reports it', async () => {
    const log = new EventLog();
    const c = await device('ota-c', new Sensors(false), log);
    const push = new OtaPusher(pusher, pkg, ['ota-c'], { idleTimeoutMs: 30_000, reofferMs: 500 });
    const [result] = await push.run();
    expect(result.state).toBe('rolled-back');
    // The status reached the pusher through the broker; the device's own reports (the rollback,
    // then its reboot into the old image) come over the engine's pipe and may land a moment later.
    const kinds = (events: SimDeviceEvent[]) => events.map((e) => (e.type === 'ota' ? e.event.type : e.type));
    await log.until((events) => kinds(events).lastIndexOf('restart') > kinds(events).indexOf('rolled-back') && kinds(events).includes('rolled-back'));
    expect(kinds(log.events)).toContain('installed');
    expect(c.device.flash.ota.flash.runningState()).toBe('valid');
    expect(c.device.flash.ota.flash.running).toBe(0);
  }, 90_000);
});

describe('a technician, with the CLI only', () => {
  it('keygen, pubkey, pack, verify, then push to a device of `canopy sim`: it verifies, installs, self-tests and confirms', async () => {
    const { spawn, spawnSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { root } = await import('./support/device-bundle.ts');
    const cli = join(root, 'bin', 'canopy.js');
    const dir = mkdtempSync(join(tmpdir(), 'canopy-technician-'));
    // The packer's sequence state lives with this test, not in the user's home.
    const env = { ...process.env, CANOPY_OTA_STATE: join(dir, 'ota-seq.json') };
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', env });
    const fixture = join(root, '..', 'shared', 'fixtures', 'esp-idf', 'esp32', 'hello_world.bin');
    expect(run('ota', 'keygen', '--out', 'release.pem').status).toBe(0);
    expect(run('ota', 'pubkey', '--key', 'release.pem', '--out', 'trust.json').status).toBe(0);
    expect(run('ota', 'pack', '--image', fixture, '--key', 'release.pem', '--seq', '1', '--vendor', 'canopy', '--class', 'sensor-v1', '--out', 'app.canopy').status).toBe(0);
    const verified = run('ota', 'verify', 'app.canopy', '--trust', 'trust.json');
    expect(verified.status, verified.stderr).toBe(0);

    const broker = await new EmbeddedBroker({ port: 0 }).start();
    const sim = spawn(process.execPath, [cli, 'sim', '--broker', broker.url, '--devices', '1', '--interval', '1000', '--ota-trust', join(dir, 'trust.json'), '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      // The device is up once its first sample arrives.
      await new Promise<void>((resolve) => sim.stdout!.on('data', (d: Buffer) => d.toString().includes('"kind":"telemetry"') && resolve()));
      // Not spawnSync: the broker lives in this process and must keep serving meanwhile.
      const child = spawn(process.execPath, [cli, 'ota', 'push', join(dir, 'app.canopy'), '--broker', broker.url, '--device', 'sim-1', '--json'], { cwd: dir, env });
      const push = { stdout: '', stderr: '', status: null as number | null };
      child.stdout.on('data', (d: Buffer) => (push.stdout += d));
      child.stderr.on('data', (d: Buffer) => (push.stderr += d));
      push.status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(push.status, push.stdout + push.stderr).toBe(0);
      const lines = push.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.state).filter(Boolean)).toContain('self-test');
      expect(lines.at(-1)).toMatchObject({ device: 'sim-1', final: 'confirmed', code: 0 });
    } finally {
      sim.kill('SIGINT');
      await new Promise((r) => sim.on('close', r));
      await broker.stop();
    }
  }, 90_000);
});
