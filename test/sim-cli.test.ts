// `canopy sim` and `canopy monitor` as a user runs them: subprocesses, real brokers, real signals.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { TestClient } from './support/clients.ts';
import { canopy, outputUntil, type Run } from './support/cli.ts';

describe('canopy sim', () => {
  it('--json --duration: decoded telemetry as JSON lines with a device field, then a clean exit 0', async () => {
    const run = canopy(['sim', '--devices', '2', '--interval', '1000', '--duration', '600', '--virtual-time', '--json', '--port', '0', '--seed', '4']);
    expect(await run.exited, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const telemetry = lines.filter((l) => l.kind === 'telemetry');
    expect(new Set(telemetry.map((l) => l.device))).toEqual(new Set(['sim-1', 'sim-2']));
    expect(telemetry.length).toBeGreaterThanOrEqual(2 * 590);
    expect(telemetry[0].sample).toHaveProperty('temperature');
    // The clean stop says "offline" itself, last.
    const status = lines.filter((l) => l.kind === 'status' && l.device === 'sim-1').map((l) => l.status);
    expect(status.at(-1)).toBe('offline');
    expect(run.stderr).toContain('2 devices on the XS engine, embedded broker mqtt://127.0.0.1:');
  }, 60_000);

  // Light follows the devices' time of day, so a run repeats with the same seed and the same
  // --epoch; two runs that took "now" a second apart used to differ by a lux or two.
  it('the same seed and epoch give the same readings', async () => {
    const args = ['sim', '--devices', '1', '--interval', '5000', '--duration', '300', '--virtual-time', '--json', '--port', '0', '--seed', '9', '--epoch', '1780272000', '--engine', 'node'];
    const [a, b] = [canopy(args), canopy(args)];
    await Promise.all([a.exited, b.exited]);
    const samples = (r: Run) => r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'telemetry').map((l) => [l.sample.seq, l.sample.temperature, l.sample.humidity, l.sample.lux]);
    expect(samples(a).length).toBeGreaterThan(50);
    expect(samples(a)).toEqual(samples(b));
  }, 60_000);

  it('--scenario with --junit: exit 0 and JUnit XML', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'canopy-junit-')), 'report.xml');
    const run = canopy(['sim', '--scenario', 'sim/scenarios/power-and-broker.yaml', '--junit', out, '--port', '0']);
    expect(await run.exited, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('scenario "power-and-broker": PASSED');
    expect(readFileSync(out, 'utf8')).toMatch(/<testsuite name="power-and-broker" tests="3" failures="0"/);
  }, 60_000);

  it.each([
    [['--engine', 'v8'], /--engine must be xs or node/],
    [['--junit', 'x.xml'], /--junit needs --scenario/],
    [['--virtual-time'], /--virtual-time needs --duration/],
    [['--devices', 'ten'], /--devices must be a whole number/],
    [['--scenario', 'sim/scenarios/steady.yaml', '--devices', '5'], /--devices cannot be combined with --scenario/],
    [['--shard', '3/2'], /--shard must be I\/N/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses %j with exit 2 and a reason', async (args, message) => {
    const run = canopy(['sim', ...args]);
    expect(await run.exited).toBe(2);
    expect(run.stderr).toMatch(message);
  }, 30_000);

  it('a missing scenario file is a clear error, exit 1', async () => {
    const run = canopy(['sim', '--scenario', 'nope.yaml']);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toContain('cannot read the scenario nope.yaml: no such file');
  }, 30_000);
});

describe('killing canopy sim and watching with canopy monitor', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let observer: TestClient;
  beforeAll(async () => {
    await broker.start();
    observer = await new TestClient(broker.url, { clientId: 'kill-observer', cleanSession: true }).connect();
    await observer.subscribe('canopy/+/status', 1);
  });
  afterAll(async () => {
    await observer.driver.stop();
    await broker.stop();
  });

  it('SIGKILL looks like a power cut: every device\'s will fires; monitor sees it all', async () => {
    const monitor = canopy(['monitor', '--broker', broker.url, '--json']);
    const sim = canopy(['sim', '--broker', broker.url, '--devices', '3', '--interval', '1000', '--engine', 'node', '--prefix', 'canopy']);
    const ids = ['sim-1', 'sim-2', 'sim-3'];
    await observer.until(() => ids.every((id) => observer.texts(`canopy/${id}/status`).includes('online')), 'three devices online');
    await outputUntil(monitor, () => monitor.stdout.includes('"kind":"telemetry"'), 'telemetry in the monitor');
    sim.child.kill('SIGKILL');
    await sim.exited;
    await observer.until(() => ids.every((id) => observer.texts(`canopy/${id}/status`).at(-1) === 'offline'), 'three wills');
    monitor.child.kill('SIGINT');
    expect(await monitor.exited).toBe(0);
    const seen = monitor.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(seen.filter((o) => o.kind === 'status' && o.status === 'offline').map((o) => o.device).sort()).toEqual(ids);
  }, 60_000);
});
