// The simulator's example scenarios, run as CI runs them (virtual time, embedded broker), plus the
// same device code against mosquitto, an assertion that must fail with a readable report, and the
// scenario file's error messages.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport, junitXml } from '../sim/assertions.ts';
import { runSimulation } from '../sim/runner.ts';
import { loadScenario, parseScenario, ScenarioError } from '../sim/scenario.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { root } from './support/device-bundle.ts';

const dir = join(root, 'sim', 'scenarios');
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));

describe('example scenarios (virtual time, embedded broker)', () => {
  it('ships at least three', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s passes', async (file) => {
    const scenario = loadScenario(join(dir, file));
    const result = await runSimulation({ scenario, brokerPort: 0 });
    expect(result.passed, formatReport(scenario.name, result.results)).toBe(true);
    expect(result.deviceMs).toBe(scenario.durationMs);
  }, 120_000);
});

describe('scenarios against mosquitto', () => {
  it('a partition: offline from the will, online after, no QoS 1 loss; a mosquitto restart loses no QoS 2 sample', async () => {
    const m = new Mosquitto();
    await m.start();
    try {
      const scenario = parseScenario({
        name: 'mosquitto',
        engine: 'node',
        seed: 5,
        duration: '12m',
        devices: [
          { count: 2, prefix: 'a', interval: '10s', qos: 1, keepalive: '20s' },
          { count: 1, prefix: 'b', interval: '10s', qos: 2, keepalive: '20s' },
        ],
        faults: [
          { at: '2m', partition: '2m', devices: ['a-1'] },
          { at: '7m', brokerRestart: '15s' },
        ],
        assert: ['delivered', { offlineAfterPartition: '40s' }, { onlineAfterPartition: '60s' }, 'noDecodeErrors'],
      });
      const result = await runSimulation({ scenario, brokerUrl: m.url, brokerControl: { stop: () => m.stop(), start: () => m.start().then(() => undefined) } });
      expect(result.passed, formatReport(scenario.name, result.results)).toBe(true);
    } finally {
      await m.dispose();
    }
  }, 120_000);
});

describe('a failing assertion', () => {
  it('fails the run with a report that says which device, what and when; JUnit carries it', async () => {
    const scenario = parseScenario({
      name: 'too-strict',
      engine: 'node',
      duration: '6m',
      devices: [{ count: 2, interval: '10s', keepalive: '30s' }],
      faults: [{ at: '1m', partition: '2m', devices: 'sim-1' }],
      // The will can only fire after 1.5 × 30 s of silence: 10 s is impossible.
      assert: [{ offlineAfterPartition: '10s' }, 'delivered'],
    });
    const result = await runSimulation({ scenario, brokerPort: 0 });
    expect(result.passed).toBe(false);
    const report = formatReport(scenario.name, result.results);
    expect(report).toContain('scenario "too-strict": FAILED');
    expect(report).toContain('sim-1: no "offline" within 10 s after the partition began at 60 s');
    expect(result.results[1].passed).toBe(true);
    const xml = junitXml(scenario.name, result.results, result.seconds);
    expect(xml).toMatch(/<testsuite name="too-strict" tests="2" failures="1"/);
    expect(xml).toContain('<failure message="sim-1: no &quot;offline&quot; within 10 s');
  }, 60_000);
});

describe('scenario files', () => {
  it.each([
    [{ devices: 'many' }, /devices: expected a count or a list/],
    [{ duration: 'soon' }, /duration: expected a duration such as "30s"/],
    [{ engine: 'v8' }, /engine: expected "xs" or "node"/],
    [{ devices: [{ count: 1, interval: '500ms' }] }, /shortest interval is 1s/],
    [{ faults: [{ at: '1m', partition: '1m', devices: 'nobody' }] }, /no device "nobody"/],
    [{ faults: [{ at: '1m', partition: '1m', reset: true }] }, /exactly one of partition/],
    [{ faults: [{ at: '20m', reset: true }] }, /is not before the end of the run/],
    [{ assert: [{ eventually: true }] }, /unknown assertion "eventually"/],
    [{ colour: 'blue' }, /unknown key "colour"/],
  ])('refuses %o', (patch, message) => {
    expect(() => parseScenario({ duration: '10m', ...patch }, 'f.yaml')).toThrow(ScenarioError);
    expect(() => parseScenario({ duration: '10m', ...patch }, 'f.yaml')).toThrow(message);
  });
});
