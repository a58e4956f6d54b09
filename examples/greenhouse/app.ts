// The greenhouse controller: DHT22 climate, a light sensor, a ventilation fan on a relay, and one
// edge rule — the fan runs above `fanOnC` and stops below `fanOffC`, each state held at least
// `fanMinMs` — decided on the device, so the greenhouse is ventilated with the broker down. A
// set-output command (output 0) forces the fan on or off; on: null hands it back to the rule.
import type { AppContext, DeviceAppDefinition } from '../../device/app/app-definition';
import { EdgeRule } from '../../device/app/edge-rule';
import type { ConfigSource } from '../../device/config';
import { ConfigError } from '../../device/config';
import { GREENHOUSE_TELEMETRY } from './telemetry';

export interface GreenhouseHardware {
  climate(): { temperature: number | null; humidity: number | null };
  light(): number | null;
  /** The fan's relay (device/drivers/outputs/relay). */
  fan: { write(on: boolean): void; read(): boolean; close(): void };
  close(): void;
}

export interface GreenhouseSettings {
  fanOnC: number;
  fanOffC: number;
  fanMinMs: number;
}

export const FAN_OUTPUT = 0;

/** The rule's settings from the manifest's config, with NVS overrides (the same keys). */
export function greenhouseSettings(config: ConfigSource): GreenhouseSettings {
  const num = (key: string, fallback: number): number => {
    const v = config.get(key);
    if (v === undefined || v === '') return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new ConfigError(`${key} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  return { fanOnC: num('fanOnC', 28), fanOffC: num('fanOffC', 26), fanMinMs: num('fanMinMs', 60_000) };
}

export function greenhouseApp(hw: GreenhouseHardware, settings: GreenhouseSettings): DeviceAppDefinition {
  const rule = new EdgeRule({ field: 'temperature', when: 'above', on: settings.fanOnC, off: settings.fanOffC, minOnMs: settings.fanMinMs, minOffMs: settings.fanMinMs });
  const drive = (on: boolean, why: string, ctx: AppContext) => {
    hw.fan.write(on);
    ctx.log('info', `fan ${on ? 'on' : 'off'} (${why})`);
    // Report the new state now, not an interval later.
    ctx.sampleNow();
  };
  return {
    telemetry: GREENHOUSE_TELEMETRY,
    read() {
      const c = hw.climate();
      const lux = hw.light();
      return {
        temperature: c.temperature,
        humidity: c.humidity,
        lux: lux === null ? null : Math.min(65535, Math.max(0, Math.round(lux))),
        fan: hw.fan.read(),
        manual: rule.overridden,
      };
    },
    onSample(record, ctx) {
      const d = rule.update(record.temperature as number | null, ctx.clock.now());
      if (d.changed) drive(d.on, `temperature ${String(record.temperature)} °C`, ctx);
    },
    onCommand(command, ctx) {
      if (command.output !== FAN_OUTPUT) throw new Error(`no output ${command.output} (the fan is output ${FAN_OUTPUT})`);
      const d = rule.override(command.on, ctx.clock.now());
      if (d.changed) drive(d.on, 'command', ctx);
      else ctx.sampleNow();
    },
    selfTest: (r) => (r.temperature !== null ? true : undefined),
    stop: () => hw.close(),
  };
}
