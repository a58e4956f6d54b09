// examples/greenhouse's app on the host: its declared telemetry, the rule driving the relay from
// a sample, and the set-output command. The same app runs on the real SDK in
// test/moddable/greenhouse.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { greenhouseApp, greenhouseSettings } from '../examples/greenhouse/app.ts';
import { GREENHOUSE_TELEMETRY } from '../examples/greenhouse/telemetry.ts';
import { Relay } from '../device/drivers/outputs/relay/relay.ts';
import { MemoryOutput } from '../device/drivers/outputs/relay/memory-output.ts';
import type { AppContext } from '../device/app/app-definition.ts';
import { objectSource } from '../device/config.ts';
import { SENSOR_NODE_TELEMETRY } from '../protocol/telemetry.ts';

function rig(temperature: { value: number | null }) {
  const fan = new Relay({ output: { io: MemoryOutput, pin: 26 } });
  let now = 0;
  const sampled: Record<string, unknown>[] = [];
  const logs: string[] = [];
  const app = greenhouseApp(
    { climate: () => ({ temperature: temperature.value, humidity: 50 }), light: () => 1200.4, fan, close: () => fan.close() },
    { fanOnC: 28, fanOffC: 26, fanMinMs: 60_000 },
  );
  let seq = 0;
  const ctx: AppContext = {
    config: undefined as never,
    clock: { now: () => now, unixTime: () => 1_700_000_000, setTimer: () => 0, clearTimer: () => {} },
    log: (_l, m) => logs.push(m),
    publishEvent: () => {},
    nextEventSeq: () => 0,
    // As DeviceApp does: read, encode, report, then onSample.
    sampleNow: () => take(),
  };
  const take = () => {
    const values = app.read();
    const record = GREENHOUSE_TELEMETRY.decode(GREENHOUSE_TELEMETRY.encode(++seq, 1_700_000_000, values));
    sampled.push(record);
    app.onSample?.(record, ctx);
  };
  return { app, ctx, fan, take, sampled, logs, advance: (ms: number) => (now += ms) };
}

describe('examples/greenhouse', () => {
  it('declares its own telemetry, with a schema id unlike the sensor-node', () => {
    expect(GREENHOUSE_TELEMETRY.id).not.toBe(SENSOR_NODE_TELEMETRY.id);
    expect(GREENHOUSE_TELEMETRY.declaration.fields.map((f) => f.name)).toEqual(['temperature', 'humidity', 'lux', 'fan', 'manual']);
    // 1 (array) + 3 (schema id) + 5 + 5 (seq, ts) + 3 + 3 + 3 + 1 + 1.
    expect(GREENHOUSE_TELEMETRY.maxBytes).toBe(25);
  });

  it('docs/sdk.md holds the CDDL generated from its declaration', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'sdk.md'), 'utf8');
    const block = /<!-- cddl:greenhouse -->\n```cddl\n([\s\S]*?)\n```\n<!-- \/cddl:greenhouse -->/.exec(doc);
    expect(block?.[1], 'regenerate the block with GREENHOUSE_TELEMETRY.cddl()').toBe(GREENHOUSE_TELEMETRY.cddl());
  });

  it('the rule turns the fan on above 28 °C and reports it at once, off below 26 °C after the minimum time', () => {
    const t = { value: 25 as number | null };
    const g = rig(t);
    g.take();
    expect(g.fan.read()).toBe(false);
    t.value = 29;
    g.take();
    expect(g.fan.read()).toBe(true);
    // The switch is reported by an extra sample straight away.
    expect(g.sampled.slice(-2).map((s) => s.fan)).toEqual([false, true]);
    t.value = 20;
    g.advance(30_000);
    g.take();
    expect(g.fan.read()).toBe(true);
    g.advance(30_000);
    g.take();
    expect(g.fan.read()).toBe(false);
    expect(g.logs).toEqual(['fan on (temperature 29 °C)', 'fan off (temperature 20 °C)']);
  });

  it('set-output forces the fan and holds it; null hands it back to the rule', () => {
    const t = { value: 30 as number | null };
    const g = rig(t);
    g.take();
    expect(g.fan.read()).toBe(true);
    g.app.onCommand!({ kind: 'set-output', output: 0, on: false }, g.ctx);
    expect(g.sampled.at(-1)).toMatchObject({ fan: false, manual: true });
    g.advance(120_000);
    g.take();
    expect(g.fan.read()).toBe(false);
    g.app.onCommand!({ kind: 'set-output', output: 0, on: null }, g.ctx);
    expect(g.sampled.at(-1)).toMatchObject({ fan: true, manual: false });
    expect(() => g.app.onCommand!({ kind: 'set-output', output: 3, on: true }, g.ctx)).toThrow('no output 3 (the fan is output 0)');
  });

  it('reads its set points from config, NVS first (strings from mcconfig too)', () => {
    expect(greenhouseSettings(objectSource({ fanOnC: '-30', fanOffC: -35 }))).toEqual({ fanOnC: -30, fanOffC: -35, fanMinMs: 60_000 });
    expect(() => greenhouseSettings(objectSource({ fanOnC: 'hot' }))).toThrow('fanOnC must be a number, got "hot"');
  });
});
