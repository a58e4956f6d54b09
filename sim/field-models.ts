// Sensor models for an app's declared telemetry fields (`canopy sim --app DIR`): the app folder's
// sim.json names a model per field; an int field it does not name gets a daily swing around the
// middle of its declared range, a bool field keeps the app's own value (an output, as commanded).
// Seeded per device, clamped to the declared range, rounded to the declared scale.
//
//   { "fields": { "moisture": { "model": "walk", "start": 40, "step": 0.5 },
//                 "temperature": { "model": "daily", "mean": 22, "amplitude": 5, "noise": 0.2, "dropout": 0.01 },
//                 "lux": { "model": "daylight", "peak": 30000 },
//                 "pump": "app" } }
import { seededRandom } from '../device/platform/random.ts';
import type { Telemetry, TelemetryField, TelemetryValues } from '../protocol/telemetry-schema.ts';
import type { Clock } from '../host/xs/timers.ts';

export type FieldModelSpec =
  | 'app'
  | { model: 'daily'; mean?: number; amplitude?: number; noise?: number; peakHour?: number; dropout?: number }
  | { model: 'walk'; start?: number; step?: number; dropout?: number }
  | { model: 'constant'; value: number | boolean | null }
  | { model: 'daylight'; peak?: number; dropout?: number };

export interface SimConfig {
  fields: Record<string, FieldModelSpec>;
}

export class SimConfigError extends Error {
  override name = 'SimConfigError';
}

const DAY = 86_400_000;
const MODELS = ['daily', 'walk', 'constant', 'daylight'];

/** Checks a parsed sim.json against the declaration; errors name the path (`where`) and the field. */
export function parseSimConfig(raw: unknown, telemetry: Telemetry, where: string): SimConfig {
  if (raw === undefined) return { fields: {} };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SimConfigError(`${where}: expected an object with "fields"`);
  const extra = Object.keys(raw).filter((k) => k !== 'fields');
  if (extra.length) throw new SimConfigError(`${where}: unknown key "${extra[0]}" (expected "fields")`);
  const fields = (raw as { fields?: unknown }).fields ?? {};
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new SimConfigError(`${where}.fields: expected an object, one model per field`);
  const declared = new Map(telemetry.declaration.fields.map((f) => [f.name, f]));
  const out: Record<string, FieldModelSpec> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const field = declared.get(name);
    if (!field) throw new SimConfigError(`${where}.fields.${name}: the telemetry "${telemetry.declaration.name}" declares no such field (it has ${[...declared.keys()].join(', ')})`);
    if (spec === 'app') {
      out[name] = spec;
      continue;
    }
    if (typeof spec !== 'object' || spec === null || !MODELS.includes((spec as { model?: string }).model ?? '')) {
      throw new SimConfigError(`${where}.fields.${name}: expected "app" or {"model": ${MODELS.map((m) => `"${m}"`).join(' | ')}, ...}`);
    }
    const s = spec as Record<string, unknown>;
    for (const [k, v] of Object.entries(s)) {
      if (k === 'model' || (k === 'value' && s.model === 'constant')) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new SimConfigError(`${where}.fields.${name}.${k}: expected a number, got ${JSON.stringify(v)}`);
    }
    if (field.type === 'bool' && s.model !== 'constant') throw new SimConfigError(`${where}.fields.${name}: a bool field takes "app" or the constant model`);
    if (s.model === 'constant' && !('value' in s)) throw new SimConfigError(`${where}.fields.${name}: the constant model needs "value"`);
    out[name] = spec as FieldModelSpec;
  }
  return { fields: out };
}

/** One device's modeled fields: `values()` is what its sensors read now. */
export class FieldModels {
  private readonly models: { name: string; read: () => number | boolean | null }[] = [];

  constructor(telemetry: Telemetry, config: SimConfig, clock: Clock, seed: number, epoch: number) {
    const random = seededRandom(seed ^ 0x6669);
    const dayFraction = (shiftMs: number) => {
      const ms = epoch * 1000 + clock.now() + shiftMs;
      return (((ms % DAY) + DAY) % DAY) / DAY;
    };
    for (const field of telemetry.declaration.fields) {
      const spec = config.fields[field.name] ?? defaultSpec(field);
      if (spec === 'app') continue;
      const lo = field.min ?? -Infinity;
      const hi = field.max ?? Infinity;
      const span = Number.isFinite(hi - lo) ? hi - lo : 100;
      const factor = 10 ** (field.scale ?? 0);
      const finish = (v: number) => Math.round(Math.min(hi, Math.max(lo, v)) * factor) / factor;
      const dropout = 'dropout' in spec && spec.dropout ? spec.dropout : 0;
      const maybe = (read: () => number) => (): number | null => (field.nullable && dropout > 0 && random() < dropout ? null : finish(read()));
      // Each device its own offset, so a fleet does not report in lockstep.
      const offset = (random() - 0.5) * 0.05 * span;
      const shift = (random() - 0.5) * 3_600_000;
      switch (spec.model) {
        case 'constant':
          this.models.push({ name: field.name, read: () => spec.value });
          break;
        case 'daily': {
          const mean = spec.mean ?? lo + span / 2;
          const amplitude = spec.amplitude ?? span / 10;
          const noise = spec.noise ?? span / 200;
          const peak = (spec.peakHour ?? 15) / 24;
          this.models.push({ name: field.name, read: maybe(() => mean + offset + amplitude * Math.cos(2 * Math.PI * (dayFraction(shift) - peak)) + noise * gaussian(random)) });
          break;
        }
        case 'walk': {
          let v = (spec.start ?? lo + span / 2) + offset;
          const step = spec.step ?? span / 100;
          this.models.push({ name: field.name, read: maybe(() => (v = Math.min(hi, Math.max(lo, v + step * gaussian(random))))) });
          break;
        }
        case 'daylight': {
          const peak = spec.peak ?? (Number.isFinite(hi) ? hi / 2 : 20_000);
          this.models.push({ name: field.name, read: maybe(() => Math.max(0, peak * Math.sin(2 * Math.PI * (dayFraction(shift) - 0.25))) * (0.8 + 0.2 * random())) });
          break;
        }
      }
    }
  }

  /** The modeled fields' values now (fields the app reads itself are absent). */
  values(): TelemetryValues {
    const out: TelemetryValues = {};
    for (const m of this.models) out[m.name] = m.read();
    return out;
  }
}

function defaultSpec(field: TelemetryField): FieldModelSpec {
  return field.type === 'bool' ? 'app' : { model: 'daily' };
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
