// A staged fleet update. A canary group first, then waves that grow by a factor. Any device of the
// canary that does not confirm (refused, failed, rolled back, silent) halts the rollout; after each
// later wave the devices that did not confirm are counted against the devices tried, and past the
// threshold the rollout halts before touching another device. Every device's outcome, and a halt,
// is written to a state file as it lands (docs/ota-cli-state.md), so a rerun resumes where it
// stopped and never pushes twice to a device that already answered. A rerun after a halt stays
// halted unless told otherwise: `retryFailed` pushes again to the devices that did not confirm
// (they form the new canary), `overrideHalt` goes on past the halt (earlier failures no longer
// count towards the threshold and the run has no canary; new failures past the threshold still
// halt it).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Topics } from '../protocol/topics.ts';
import { parsePackage, toHex } from '../protocol/ota/package.ts';
import { sha256 } from '../protocol/ota/sha256.ts';
import type { SessionDriver } from '../host/transport.ts';
import { readUserJson } from '../host/user-file.ts';
import { OtaPusher, type DeviceResult } from './push.ts';

export interface RolloutOptions {
  canary?: number;
  /** Each wave is this many times the previous one. Default 2. */
  growth?: number;
  /** Halt when devices that did not confirm exceed this fraction of those tried. Default 0.1. */
  haltRatio?: number;
  /** Per-device silence allowed (ms). */
  idleTimeoutMs?: number;
  topics?: Topics;
  stateFile?: string;
  /** Push again to devices whose recorded outcome is not "confirmed"; they go first, as the canary. */
  retryFailed?: boolean;
  /** Continue past a recorded halt; the failures recorded so far stop counting towards it. */
  overrideHalt?: boolean;
  /**
   * Asked before each group: a sentence (an operator's halt, say) stops the rollout there. It is
   * recorded like any halt, so a rerun stays halted unless told otherwise; devices already being
   * updated are not cut off mid-transfer.
   */
  stopRequested?: () => string | undefined;
  onGroup?: (index: number, devices: string[]) => void;
  onResult?: (r: DeviceResult) => void;
}

export interface Halt {
  /** Why, in a sentence naming the devices. */
  reason: string;
  /** Devices that did not confirm, among those counted. */
  failed: string[];
}

export interface RolloutSummary {
  package: string;
  /** Set when the rollout stopped (now or in the run recorded in the state file) before the end. */
  halted: Halt | undefined;
  groups: string[][];
  results: DeviceResult[];
  /** Devices never offered the package (after a halt). */
  untouched: string[];
  /** Devices whose outcome is not "confirmed" (refused, failed, rolled back or silent). */
  notConfirmed: string[];
}

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
  halted?: Halt;
}

function loadState(path: string | undefined, id: string): StateFile {
  if (!path || !existsSync(path)) return { package: id, results: {} };
  let prev: StateFile;
  try {
    prev = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
  } catch (e) {
    throw new Error(`${path} is not a rollout state file (${(e as Error).message}); move it away or give another --state`);
  }
  if (typeof prev?.package !== 'string' || typeof prev.results !== 'object') throw new Error(`${path} is not a rollout state file; move it away or give another --state`);
  if (prev.package !== id) throw new Error(`${path} belongs to another package (${prev.package.slice(0, 16)}…); use a new --state file`);
  return prev;
}

/** Pushes the package to one group and resolves with each device's result. */
export type PushGroup = (devices: string[]) => Promise<DeviceResult[]>;

/**
 * Runs the rollout over a started SessionDriver, or over any `PushGroup` (tests run one in virtual
 * time).
 */
export async function runRollout(via: SessionDriver | PushGroup, pkg: Uint8Array, fleet: string[], o: RolloutOptions = {}): Promise<RolloutSummary> {
  const push: PushGroup = typeof via === 'function' ? via : (group) => new OtaPusher(via, pkg, group, { topics: o.topics, idleTimeoutMs: o.idleTimeoutMs }).run();
  const id = toHex(sha256(parsePackage(pkg).envelope.manifestBytes));
  const state = loadState(o.stateFile, id);
  const save = () => {
    if (!o.stateFile) return;
    writeFileSync(o.stateFile + '.tmp', JSON.stringify(state, null, 2) + '\n');
    renameSync(o.stateFile + '.tmp', o.stateFile);
  };
  const confirmed = (d: string) => state.results[d]?.state === 'confirmed';
  const retried = o.retryFailed ? fleet.filter((d) => state.results[d] && !confirmed(d)) : [];
  for (const d of retried) delete state.results[d];
  // Devices counted towards the threshold: all recorded, or after an override only this run's.
  const counted = new Set(o.overrideHalt ? [] : Object.keys(state.results).filter((d) => fleet.includes(d)));
  if (o.retryFailed || o.overrideHalt) state.halted = undefined;

  const todo = [...retried, ...fleet.filter((d) => !state.results[d] && !retried.includes(d))];
  const groups = state.halted ? [] : planWaves(todo, o.canary ?? 1, o.growth ?? 2);
  const haltRatio = o.haltRatio ?? 0.1;
  for (const [i, group] of groups.entries()) {
    const stop = o.stopRequested?.();
    if (stop) {
      state.halted = { reason: stop, failed: [] };
      save();
      break;
    }
    o.onGroup?.(i, group);
    for (const r of await push(group)) {
      state.results[r.deviceId] = r;
      counted.add(r.deviceId);
      o.onResult?.(r);
    }
    const failed = [...counted].filter((d) => !confirmed(d));
    const last = i === groups.length - 1;
    // The first group of a run is its canary, unless the operator overrode a halt to get here.
    if (i === 0 && !o.overrideHalt && group.some((d) => !confirmed(d))) {
      const bad = group.filter((d) => !confirmed(d));
      state.halted = { reason: `canary ${bad.map((d) => `${d} (${outcome(state.results[d])})`).join(', ')} did not confirm`, failed: bad };
    } else if (!last && failed.length / counted.size > haltRatio) {
      state.halted = { reason: `${failed.length} of ${counted.size} devices tried did not confirm, above ${Math.round(haltRatio * 100)}%`, failed };
    }
    save();
    if (state.halted) break;
  }
  // A halt in the canary stands even when the canary was the whole fleet: that run still failed.
  return {
    package: id,
    halted: state.halted,
    groups,
    results: fleet.filter((d) => state.results[d]).map((d) => state.results[d]),
    untouched: fleet.filter((d) => !state.results[d]),
    notConfirmed: fleet.filter((d) => state.results[d] && !confirmed(d)),
  };
}

function outcome(r: DeviceResult): string {
  return r.reason && r.reasonName !== r.state ? `${r.state} ${r.reasonName}` : r.state;
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

/** `--fleet @FILE`: a JSON array of device ids, or a sentence naming the file. */
export function readFleetFile(path: string): string[] {
  const expected = 'a JSON array of device ids such as ["lab-1","lab-2"]';
  const ids = readUserJson(path, 'fleet file', expected);
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new Error(`${path} is not a list of device ids; expected ${expected}`);
  return ids;
}

/** "a,b,c", "@fleet.json" (an array of ids), or a glob over devices online now ("lab-*"). */
export async function resolveFleet(selector: string, driver: SessionDriver, topics: Topics, discoverMs = 1500): Promise<string[]> {
  if (selector.startsWith('@')) return readFleetFile(selector.slice(1));
  if (!selector.includes('*')) return selector.split(',').filter(Boolean);
  const re = new RegExp('^' + selector.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return (await discover(driver, topics, discoverMs)).filter((d) => re.test(d));
}
