// Staged rollouts started from the OTA page: ota/rollout.ts's runRollout (canary, waves, halt
// threshold, state file) over one MQTT session, with each device's transfer status passed on as
// it arrives so the page shows progress live, and a halt button that stops the rollout before
// its next wave. One rollout at a time: two would share one session's OTA subscriptions.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Topics } from '../protocol/topics.ts';
import type { SessionDriver } from '../host/transport.ts';
import { OtaPusher, type DeviceResult } from '../ota/push.ts';
import { runRollout } from '../ota/rollout.ts';
import type { StoredPackage } from './packages.ts';

export interface RolloutRequest {
  /** Device ids, comma-separated, or a glob over the devices online now ("lab-*"). */
  fleet: string;
  canary: number;
  growth: number;
  haltPercent: number;
  /** Per-device silence allowed, seconds. */
  timeoutS: number;
  retryFailed?: boolean;
  overrideHalt?: boolean;
}

export interface DeviceProgress {
  state: string;
  done: number;
  total: number;
  group: number;
  reason?: string;
  detail?: string;
}

export interface RolloutView {
  id: number;
  package: string;
  packageName: string;
  request: RolloutRequest;
  fleet: string[];
  state: 'running' | 'halting' | 'halted' | 'finished' | 'failed';
  groups: string[][];
  group: number;
  devices: Record<string, DeviceProgress>;
  halt?: string;
  error?: string;
  startedAt: string;
  endedAt?: string;
  summary?: { confirmed: number; notConfirmed: string[]; untouched: string[] };
}

export class RolloutError extends Error {
  override name = 'RolloutError';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Checks a request from the page; the same limits as `canopy ota rollout`'s flags. */
export function parseRolloutRequest(body: unknown): RolloutRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  const num = (k: string, fallback: number, min: number, max: number, whole = true) => {
    const v = b[k] === undefined || b[k] === '' ? fallback : Number(b[k]);
    if (!Number.isFinite(v) || v < min || v > max || (whole && !Number.isInteger(v))) throw new RolloutError(`${k} must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    return v;
  };
  const fleet = typeof b.fleet === 'string' ? b.fleet.trim() : '';
  if (!fleet) throw new RolloutError('fleet is required: device ids (a,b,c) or a pattern such as lab-*');
  return {
    fleet,
    canary: num('canary', 1, 1, 10_000),
    growth: num('growth', 2, 1, 100, false),
    haltPercent: num('haltPercent', 10, 0, 100),
    timeoutS: num('timeoutS', 120, 1, 3600),
    retryFailed: b.retryFailed === true,
    overrideHalt: b.overrideHalt === true,
  };
}

/** "a,b" or a glob over `online`. */
export function selectFleet(selector: string, online: string[]): string[] {
  if (!selector.includes('*')) return selector.split(',').map((s) => s.trim()).filter(Boolean);
  const re = new RegExp('^' + selector.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return online.filter((d) => re.test(d));
}

/** Emits 'update' (RolloutView) whenever a rollout's view changes. */
export class Rollouts extends EventEmitter {
  private readonly views: RolloutView[] = [];
  private current: { view: RolloutView; haltRequested?: string } | undefined;
  private next = 1;

  constructor(
    private readonly driver: () => SessionDriver,
    private readonly topics: Topics,
    private readonly stateDir: string,
  ) {
    super();
  }

  list(): RolloutView[] {
    return [...this.views].reverse();
  }

  get(id: number): RolloutView | undefined {
    return this.views.find((v) => v.id === id);
  }

  /** Starts a rollout and returns at once; progress comes as 'update' events. */
  start(pkg: StoredPackage, request: RolloutRequest, online: string[]): RolloutView {
    if (this.current) throw new RolloutError(`rollout ${this.current.view.id} is still running; halt it or wait for it to finish`, 409);
    const fleet = selectFleet(request.fleet, online);
    if (fleet.length === 0) throw new RolloutError(`fleet "${request.fleet}" matched no device${request.fleet.includes('*') ? ' online now' : ''}`);
    const view: RolloutView = {
      id: this.next++,
      package: pkg.id,
      packageName: pkg.name,
      request,
      fleet,
      state: 'running',
      groups: [],
      group: -1,
      devices: Object.fromEntries(fleet.map((d) => [d, { state: 'waiting', done: 0, total: 0, group: -1 }])),
      startedAt: new Date().toISOString(),
    };
    this.views.push(view);
    const run = { view } as { view: RolloutView; haltRequested?: string };
    this.current = run;
    const changed = () => this.emit('update', view);
    mkdirSync(join(this.stateDir, 'rollouts'), { recursive: true });
    const driver = this.driver();
    const push = (group: string[]) =>
      new OtaPusher(driver, pkg.bytes, group, {
        topics: this.topics,
        idleTimeoutMs: request.timeoutS * 1000,
        onStatus: (id, s) => {
          const d = view.devices[id];
          if (!d) return;
          Object.assign(d, { state: s.state, done: s.done, total: s.total });
          changed();
        },
      }).run();
    const result = (r: DeviceResult) => {
      const d = view.devices[r.deviceId];
      Object.assign(d, { state: r.state, done: r.done, total: r.total, ...(r.reason ? { reason: r.reasonName } : {}), ...(r.detail ? { detail: r.detail } : {}) });
      changed();
    };
    runRollout(push, pkg.bytes, fleet, {
      canary: request.canary,
      growth: request.growth,
      haltRatio: request.haltPercent / 100,
      idleTimeoutMs: request.timeoutS * 1000,
      topics: this.topics,
      stateFile: join(this.stateDir, 'rollouts', `${pkg.id}.rollout.json`),
      retryFailed: request.retryFailed,
      overrideHalt: request.overrideHalt,
      stopRequested: () => run.haltRequested,
      onGroup: (i, g) => {
        view.group = i;
        view.groups[i] = g;
        for (const d of g) Object.assign(view.devices[d], { state: 'offered', group: i });
        changed();
      },
      onResult: result,
    })
      .then((s) => {
        // Devices the state file says were done in an earlier run show their recorded outcome.
        for (const r of s.results) if (view.devices[r.deviceId]?.state === 'waiting') result(r);
        view.state = s.halted ? 'halted' : 'finished';
        view.halt = s.halted?.reason;
        view.summary = { confirmed: s.results.filter((r) => r.state === 'confirmed').length, notConfirmed: s.notConfirmed, untouched: s.untouched };
        for (const d of s.untouched) if (view.devices[d].state === 'waiting') view.devices[d].state = 'untouched';
      })
      .catch((err: Error) => {
        view.state = 'failed';
        view.error = err.message;
      })
      .finally(() => {
        view.endedAt = new Date().toISOString();
        this.current = undefined;
        changed();
      });
    return view;
  }

  /** Stops the running rollout before its next wave; the devices being updated now finish. */
  halt(id: number, who = 'the operator'): RolloutView {
    const run = this.current;
    if (!run || run.view.id !== id) throw new RolloutError(`rollout ${id} is not running`, 409);
    run.haltRequested = `halted by ${who} from the console`;
    run.view.state = 'halting';
    this.emit('update', run.view);
    return run.view;
  }

  /** Resolves once no rollout runs (for a clean shutdown). */
  async idle(): Promise<void> {
    while (this.current) await new Promise((r) => this.once('update', r));
  }
}
