// Scenario files for `canopy sim --scenario F` (YAML or JSON; documented in docs/scenarios.md):
// which devices run, with which sensor models, a timeline of faults, and the assertions that
// decide the exit code. Parsed and checked here, with errors that name the offending path.
import { parseUserJson, readUserText } from '../host/user-file.ts';
import { createRequire } from 'node:module';

// yaml is required when a YAML scenario is read, not with the simulator (it cost `canopy sim` ~37 ms
// of cold start for runs that have no scenario file).
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

export type TimeMode = { kind: 'virtual' } | { kind: 'real'; speed: number };

export interface DeviceGroup {
  count: number;
  /** Device ids are `${prefix}-${n}`, n from 1. */
  prefix: string;
  intervalMs: number;
  qos: 0 | 1 | 2;
  keepalive: number;
  dhtErrorRate: number;
  motionPerHour: number;
}

export type Fault =
  | { type: 'partition'; atMs: number; forMs: number; devices?: string[] }
  | { type: 'broker-restart'; atMs: number; downMs: number }
  | { type: 'latency'; atMs: number; forMs: number; ms: number; jitterMs: number; devices?: string[] }
  | { type: 'reset'; atMs: number; devices?: string[] }
  | { type: 'power-loss'; atMs: number; offMs: number; devices: string[] };

export type Assertion =
  | { type: 'delivered' }
  | { type: 'offline-after-partition'; withinMs: number }
  | { type: 'online-after-partition'; withinMs: number }
  | { type: 'motion-seen'; min: number }
  | { type: 'samples-at-least'; min: number }
  | { type: 'no-decode-errors' }
  /** An app's declared field (`canopy sim --app`): every reading within min..max. */
  | { type: 'field-range'; field: string; min?: number; max?: number }
  /** An app's declared field took this value (or any reading) at least once. */
  | { type: 'field-seen'; field: string; value?: number | boolean };

export interface Scenario {
  name: string;
  engine: 'xs' | 'node';
  seed: number;
  durationMs: number;
  /** Unix seconds at the start of the run (sets the time of day the models see). */
  epoch: number;
  time: TimeMode;
  groups: DeviceGroup[];
  faults: Fault[];
  assertions: Assertion[];
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "5m", "1.5h", "250ms"; a bare number is seconds. */
export function parseDuration(value: unknown, path: string): number {
  if (typeof value === 'number' && value >= 0) return value * 1000;
  const m = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!m) throw new ScenarioError(`${path}: expected a duration such as "30s", "5m" or "1h", got ${JSON.stringify(value)}`);
  return Math.round(Number(m[1]) * UNIT[m[2] ?? 's']);
}

export function loadScenario(path: string): Scenario {
  const text = readUserText(path, 'scenario');
  const expected = 'a scenario (docs/scenarios.md)';
  let raw: unknown;
  if (path.endsWith('.json')) raw = parseUserJson(text, path, expected);
  else {
    try {
      raw = parseYaml(text);
    } catch (err) {
      throw new ScenarioError(`${path} is not YAML (${(err as Error).message}); expected ${expected}`);
    }
  }
  return parseScenario(raw, path);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScenarioError(`${path}: expected a mapping`);
  return v as Obj;
}

function only(o: Obj, keys: string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ScenarioError(`${path}: unknown key "${k}" (expected one of ${keys.join(', ')})`);
}

function int(v: unknown, path: string, min: number, max: number, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ScenarioError(`${path}: expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function num(v: unknown, path: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw new ScenarioError(`${path}: expected a number ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function ids(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw new ScenarioError(`${path}: expected a device id or a list of them`);
  return list as string[];
}

export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const o = obj(raw, source);
  only(o, ['name', 'engine', 'seed', 'duration', 'epoch', 'time', 'devices', 'faults', 'assert'], source);
  const engine = o.engine ?? 'xs';
  if (engine !== 'xs' && engine !== 'node') throw new ScenarioError(`${source}.engine: expected "xs" or "node", got ${JSON.stringify(engine)}`);
  let time: TimeMode = { kind: 'virtual' };
  if (o.time !== undefined && o.time !== 'virtual') {
    if (o.time === 'real') time = { kind: 'real', speed: 1 };
    else {
      const t = obj(o.time, `${source}.time`);
      only(t, ['speed'], `${source}.time`);
      time = { kind: 'real', speed: num(t.speed, `${source}.time.speed`, 0.01, 10_000, 1) };
    }
  }
  const groupsRaw = typeof o.devices === 'number' ? [{ count: o.devices }] : (o.devices ?? [{ count: 3 }]);
  if (!Array.isArray(groupsRaw) || groupsRaw.length === 0) throw new ScenarioError(`${source}.devices: expected a count or a list of device groups`);
  const groups = groupsRaw.map((g, i) => parseGroup(g, `${source}.devices[${i}]`, i));
  const names = new Set<string>();
  for (const g of groups) {
    if (names.has(g.prefix)) throw new ScenarioError(`${source}.devices: two groups share the id prefix "${g.prefix}"`);
    names.add(g.prefix);
  }
  const all = new Set(groups.flatMap((g) => Array.from({ length: g.count }, (_, n) => `${g.prefix}-${n + 1}`)));
  const durationMs = parseDuration(o.duration ?? '10m', `${source}.duration`);
  const faultsRaw = o.faults ?? [];
  if (!Array.isArray(faultsRaw)) throw new ScenarioError(`${source}.faults: expected a list`);
  const faults = faultsRaw.map((f, i) => parseFault(f, `${source}.faults[${i}]`, all, durationMs));
  const assertRaw = o.assert ?? [];
  if (!Array.isArray(assertRaw)) throw new ScenarioError(`${source}.assert: expected a list`);
  return {
    name: typeof o.name === 'string' ? o.name : source,
    engine,
    seed: int(o.seed, `${source}.seed`, 0, 2 ** 31, 1),
    durationMs,
    epoch: int(o.epoch, `${source}.epoch`, 0, 2 ** 32 - 1, 1_780_272_000),
    time,
    groups,
    faults: faults.sort((a, b) => a.atMs - b.atMs),
    assertions: assertRaw.map((a, i) => parseAssertion(a, `${source}.assert[${i}]`)),
  };
}

function parseGroup(raw: unknown, path: string, index: number): DeviceGroup {
  const g = obj(raw, path);
  only(g, ['count', 'prefix', 'interval', 'qos', 'keepalive', 'dhtErrorRate', 'motionPerHour'], path);
  const prefix = g.prefix ?? (index === 0 ? 'sim' : `sim${index + 1}`);
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) throw new ScenarioError(`${path}.prefix: expected [A-Za-z0-9_-]{1,40}`);
  const intervalMs = parseDuration(g.interval ?? '10s', `${path}.interval`);
  if (intervalMs < 1000) throw new ScenarioError(`${path}.interval: the device's shortest interval is 1s`);
  return {
    count: int(g.count, `${path}.count`, 1, 100_000, 1),
    prefix,
    intervalMs,
    qos: int(g.qos, `${path}.qos`, 0, 2, 1) as 0 | 1 | 2,
    keepalive: Math.round(parseDuration(g.keepalive ?? '30s', `${path}.keepalive`) / 1000),
    dhtErrorRate: num(g.dhtErrorRate, `${path}.dhtErrorRate`, 0, 1, 0),
    motionPerHour: num(g.motionPerHour, `${path}.motionPerHour`, 0, 3600, 6),
  };
}

function parseFault(raw: unknown, path: string, all: Set<string>, durationMs: number): Fault {
  const f = obj(raw, path);
  const atMs = parseDuration(f.at, `${path}.at`);
  if (atMs >= durationMs) throw new ScenarioError(`${path}.at: ${f.at} is not before the end of the run`);
  const devices = ids(f.devices, `${path}.devices`);
  for (const d of devices ?? []) if (!all.has(d)) throw new ScenarioError(`${path}.devices: no device "${d}" in this scenario`);
  const kinds = ['partition', 'brokerRestart', 'latency', 'reset', 'powerLoss'].filter((k) => k in f);
  if (kinds.length !== 1) throw new ScenarioError(`${path}: expected exactly one of partition, brokerRestart, latency, reset, powerLoss`);
  switch (kinds[0]) {
    case 'partition':
      only(f, ['at', 'partition', 'devices'], path);
      return { type: 'partition', atMs, forMs: parseDuration(f.partition, `${path}.partition`), devices };
    case 'brokerRestart':
      only(f, ['at', 'brokerRestart'], path);
      return { type: 'broker-restart', atMs, downMs: f.brokerRestart === true ? 0 : parseDuration(f.brokerRestart, `${path}.brokerRestart`) };
    case 'latency': {
      only(f, ['at', 'latency', 'devices'], path);
      const l = obj(f.latency, `${path}.latency`);
      only(l, ['ms', 'jitter', 'for'], `${path}.latency`);
      return { type: 'latency', atMs, ms: int(l.ms, `${path}.latency.ms`, 0, 60_000), jitterMs: int(l.jitter, `${path}.latency.jitter`, 0, 60_000, 0), forMs: parseDuration(l.for, `${path}.latency.for`), devices };
    }
    case 'reset':
      only(f, ['at', 'reset', 'devices'], path);
      return { type: 'reset', atMs, devices };
    default: {
      only(f, ['at', 'powerLoss', 'devices', 'off'], path);
      const target = ids(f.powerLoss === true ? f.devices : f.powerLoss, `${path}.powerLoss`);
      if (!target?.length) throw new ScenarioError(`${path}.powerLoss: name the device(s) that lose power`);
      for (const d of target) if (!all.has(d)) throw new ScenarioError(`${path}.powerLoss: no device "${d}" in this scenario`);
      return { type: 'power-loss', atMs, offMs: parseDuration(f.off ?? '5s', `${path}.off`), devices: target };
    }
  }
}

function parseAssertion(raw: unknown, path: string): Assertion {
  if (raw === 'delivered') return { type: 'delivered' };
  if (raw === 'noDecodeErrors') return { type: 'no-decode-errors' };
  const a = obj(raw, path);
  const keys = Object.keys(a);
  if (keys.length !== 1) throw new ScenarioError(`${path}: expected one assertion per item`);
  const [k] = keys;
  switch (k) {
    case 'offlineAfterPartition':
      return { type: 'offline-after-partition', withinMs: parseDuration(a[k], `${path}.${k}`) };
    case 'onlineAfterPartition':
      return { type: 'online-after-partition', withinMs: parseDuration(a[k], `${path}.${k}`) };
    case 'motionSeen':
      return { type: 'motion-seen', min: int(a[k] === true ? 1 : a[k], `${path}.${k}`, 1, 1e9) };
    case 'samplesAtLeast':
      return { type: 'samples-at-least', min: int(a[k], `${path}.${k}`, 1, 1e9) };
    case 'delivered':
    case 'noDecodeErrors':
      if (a[k] !== true) throw new ScenarioError(`${path}.${k}: expected true`);
      return { type: k === 'delivered' ? 'delivered' : 'no-decode-errors' };
    case 'fieldRange': {
      const f = obj(a[k], `${path}.${k}`);
      only(f, ['field', 'min', 'max'], `${path}.${k}`);
      if (typeof f.field !== 'string') throw new ScenarioError(`${path}.${k}.field: expected a field name of the app's telemetry`);
      const bound = (b: 'min' | 'max') => (f[b] === undefined ? undefined : num(f[b], `${path}.${k}.${b}`, -1e12, 1e12, 0));
      if (f.min === undefined && f.max === undefined) throw new ScenarioError(`${path}.${k}: expected min, max or both`);
      return { type: 'field-range', field: f.field, min: bound('min'), max: bound('max') };
    }
    case 'fieldSeen': {
      const f = obj(a[k], `${path}.${k}`);
      only(f, ['field', 'value'], `${path}.${k}`);
      if (typeof f.field !== 'string') throw new ScenarioError(`${path}.${k}.field: expected a field name of the app's telemetry`);
      if (f.value !== undefined && typeof f.value !== 'number' && typeof f.value !== 'boolean') throw new ScenarioError(`${path}.${k}.value: expected a number or true/false`);
      return { type: 'field-seen', field: f.field, value: f.value as number | boolean | undefined };
    }
    default:
      throw new ScenarioError(`${path}: unknown assertion "${k}" (expected delivered, offlineAfterPartition, onlineAfterPartition, motionSeen, samplesAtLeast, noDecodeErrors, fieldRange, fieldSeen)`);
  }
}
