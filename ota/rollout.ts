// `canopy ota rollout`: a staged fleet update. A canary group first, then waves that grow by a
// factor; after each group the failures (rolled back, failed, silent) are counted against the
// devices tried so far, and past the threshold the rollout halts before touching another device.
// Every device's outcome is written to a state file as it lands, so a halted or interrupted
// rollout resumes where it stopped and never pushes twice to a device that already answered.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from '../protocol/session/session.ts';
import { Topics } from '../protocol/topics.ts';
import { parsePackage, toHex } from '../protocol/ota/package.ts';
import { sha256 } from '../protocol/ota/sha256.ts';
import { SessionDriver } from '../host/transport.ts';
import { parseFlags, intFlag, UsageError } from '../host/flags.ts';
import { OtaPusher, type DeviceResult } from './push.ts';

export interface RolloutOptions {
  canary?: number;
  /** Each wave is this many times the previous one. Default 2. */
  growth?: number;
  /** Halt when failures exceed this fraction of the devices tried so far. Default 0.1. */
  haltRatio?: number;
  /** Per-device silence allowed (ms). */
  idleTimeoutMs?: number;
  topics?: Topics;
  stateFile?: string;
  onGroup?: (index: number, devices: string[]) => void;
  onResult?: (r: DeviceResult) => void;
}

export interface RolloutSummary {
  package: string;
  halted: boolean;
  groups: string[][];
  results: DeviceResult[];
  /** Devices never offered the package (after a halt). */
  untouched: string[];
  failures: number;
}

const FAILURES = new Set(['rolled-back', 'failed', 'timeout']);

/** Canary, then waves growing by `growth`, over the devices in order. */
export function planWaves(devices: string[], canary: number, growth: number): string[][] {
  const groups: string[][] = [];
  let at = 0;
  let size = Math.max(1, canary);
  while (at < devices.length) {
    groups.push(devices.slice(at, at + size));
    at += size;
    size = Math.max(size + 1, Math.ceil(size * growth));
  }
  return groups;
}

interface StateFile {
  package: string;
  results: Record<string, DeviceResult>;
}

export async function runRollout(driver: SessionDriver, pkg: Uint8Array, fleet: string[], o: RolloutOptions = {}): Promise<RolloutSummary> {
  const id = toHex(sha256(parsePackage(pkg).envelope.manifestBytes));
  let state: StateFile = { package: id, results: {} };
  if (o.stateFile && existsSync(o.stateFile)) {
    const prev = JSON.parse(readFileSync(o.stateFile, 'utf8')) as StateFile;
    if (prev.package !== id) throw new UsageError(`${o.stateFile} belongs to another package (${prev.package.slice(0, 16)}…); use a new --state file`);
    state = prev;
  }
  const save = () => {
    if (!o.stateFile) return;
    writeFileSync(o.stateFile + '.tmp', JSON.stringify(state, null, 2));
    renameSync(o.stateFile + '.tmp', o.stateFile);
  };
  const todo = fleet.filter((d) => !state.results[d]);
  const groups = planWaves(todo, o.canary ?? 1, o.growth ?? 2);
  const haltRatio = o.haltRatio ?? 0.1;
  let halted = false;
  const count = () => Object.values(state.results).filter((r) => FAILURES.has(r.state)).length;
  for (const [i, group] of groups.entries()) {
    const tried = Object.keys(state.results).length;
    if (tried > 0 && count() / tried > haltRatio) {
      halted = true;
      break;
    }
    o.onGroup?.(i, group);
    const pusher = new OtaPusher(driver, pkg, group, { topics: o.topics, idleTimeoutMs: o.idleTimeoutMs });
    for (const r of await pusher.run()) {
      state.results[r.deviceId] = r;
      o.onResult?.(r);
    }
    save();
  }
  const tried = Object.keys(state.results).length;
  if (!halted && tried > 0 && count() / tried > haltRatio && fleet.some((d) => !state.results[d])) halted = true;
  return {
    package: id,
    halted,
    groups,
    results: fleet.filter((d) => state.results[d]).map((d) => state.results[d]),
    untouched: fleet.filter((d) => !state.results[d]),
    failures: count(),
  };
}

/** Devices whose retained status is "online", seen within `ms` of subscribing. */
async function discover(driver: SessionDriver, topics: Topics, ms: number): Promise<string[]> {
  const seen = new Set<string>();
  const on = (e: { type: string; topic?: string; payload?: Uint8Array }) => {
    if (e.type !== 'message' || !e.topic) return;
    const t = topics.parse(e.topic);
    if (t?.kind === 'status' && new TextDecoder().decode(e.payload) === 'online') seen.add(t.deviceId);
  };
  driver.on('event', on);
  driver.subscribe([{ topic: topics.statusFilter(), qos: 0 }]);
  await new Promise((r) => setTimeout(r, ms));
  driver.off('event', on);
  driver.unsubscribe([topics.statusFilter()]);
  return [...seen].sort();
}

/** "a,b,c", "@fleet.json" (an array of ids), or a glob over devices online now ("lab-*"). */
export async function resolveFleet(selector: string, driver: SessionDriver, topics: Topics, discoverMs = 1500): Promise<string[]> {
  if (selector.startsWith('@')) {
    const ids = JSON.parse(readFileSync(selector.slice(1), 'utf8')) as unknown;
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new UsageError(`${selector.slice(1)} must be a JSON array of device ids`);
    return ids;
  }
  if (!selector.includes('*')) return selector.split(',').filter(Boolean);
  const re = new RegExp('^' + selector.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return (await discover(driver, topics, discoverMs)).filter((d) => re.test(d));
}

export async function rolloutCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      broker: { type: 'string' },
      fleet: { type: 'string' },
      canary: { type: 'string' },
      growth: { type: 'string' },
      'halt-percent': { type: 'string' },
      state: { type: 'string' },
      timeout: { type: 'string' },
      prefix: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('give exactly one PKG');
  if (!values.broker || !values.fleet) throw new UsageError('--broker and --fleet are required');
  const growth = values.growth === undefined ? 2 : Number(values.growth);
  if (!(growth >= 1)) throw new UsageError('--growth must be a number ≥ 1');
  const pkg = new Uint8Array(readFileSync(positionals[0]));
  const topics = new Topics(values.prefix ?? 'canopy');
  const driver = new SessionDriver(new Session({ clientId: `canopy-rollout-${Math.random().toString(36).slice(2, 10)}`, cleanSession: false }), values.broker).start();
  try {
    const fleet = await resolveFleet(values.fleet, driver, topics);
    if (fleet.length === 0) throw new UsageError(`--fleet ${values.fleet} matched no devices`);
    const s = await runRollout(driver, pkg, fleet, {
      canary: intFlag('canary', values.canary, 1, 1),
      growth,
      haltRatio: intFlag('halt-percent', values['halt-percent'], 10, 0, 100) / 100,
      stateFile: values.state ?? `${positionals[0]}.rollout.json`,
      idleTimeoutMs: intFlag('timeout', values.timeout, 120, 1) * 1000,
      topics,
      onGroup: (i, g) => !values.json && console.error(`${i === 0 ? 'canary' : `wave ${i}`}: ${g.length} device(s)`),
      onResult: (r) => (values.json ? console.log(JSON.stringify({ device: r.deviceId, final: r.state, reason: r.reasonName, code: r.reason })) : console.error(`  ${r.deviceId}: ${r.state}${r.reason ? ` (${r.reasonName})` : ''}`)),
    });
    const by = (st: string) => s.results.filter((r) => r.state === st).length;
    const line = `${by('confirmed')} confirmed, ${by('refused')} refused, ${s.failures} failed or rolled back, ${s.untouched.length} untouched${s.halted ? ' — HALTED (rerun the same command to resume)' : ''}`;
    if (values.json) console.log(JSON.stringify({ summary: { halted: s.halted, confirmed: by('confirmed'), refused: by('refused'), failures: s.failures, untouched: s.untouched } }));
    else console.log(line);
    return s.halted ? 3 : s.failures > 0 ? 1 : 0;
  } finally {
    await driver.stop();
  }
}
