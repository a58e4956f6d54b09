// Runs a simulation: broker (embedded aedes unless one is given), observer, fleet, the fault
// timeline and the chosen time mode, then checks the scenario's assertions.
//
// Virtual time: device clocks jump from one timer to the next, but only once the network has gone
// quiet (no socket activity for a few ms), so every reply that would have arrived in time does.
// The broker keeps real time, so it cannot notice hours of silence that pass in milliseconds: when
// a partition outlasts 1.5× the keepalive, the fault proxy drops the broker's side at that moment
// of device time, which is what the broker's keepalive timer would do (FaultProxy.severUpstream).
import { EmbeddedBroker } from '../host/broker.ts';
import { NetActivity, type DeviceIdentity } from '../host/device-socket.ts';
import type { TlsFiles } from '../host/transport.ts';
import type { ProvisionedIdentity } from '../host/client-identity.ts';
import type { SimDeviceEvent } from './sim-device.ts';
import { RealClock, ScaledClock, VirtualClock, type Clock } from '../host/xs/timers.ts';
import { checkAssertions, type AssertionResult } from './assertions.ts';
import { Fleet } from './fleet.ts';
import { FleetObserver, type Observation } from './observer.ts';
import type { Fault, Scenario } from './scenario.ts';
import { RunSummary } from './summary.ts';
import type { SimApp } from './app.ts';

export interface SimRunOptions {
  scenario: Scenario;
  /** An external broker; default: the embedded one. */
  brokerUrl?: string;
  /** Stops and starts an external broker (tests that manage mosquitto); the embedded one is built in. */
  brokerControl?: BrokerControl;
  /**
   * Embedded broker port. Absent: 1883, or a free one if 1883 is taken (the URL is printed). Given
   * (`--port N`): that port or a refusal, as `canopy broker` does; devices pointed at N must not
   * quietly end up on another broker. 0 picks any free port.
   */
  brokerPort?: number;
  /** PEM CA file the devices (and the observer) verify an mqtts:// broker against; default: the system's roots. */
  caFile?: string;
  /** The observer's own TLS (CA, its client certificate and key, --insecure); default: caFile only. */
  observerTls?: TlsFiles;
  /** Provisioned devices, one per simulated device (sim/fleet.ts). */
  identities?: ProvisionedIdentity[];
  /** The client certificate and key of every device without its own identity. */
  sharedIdentity?: DeviceIdentity;
  /** Keep each device's flash and NVS in files under this directory, across runs (see sim/device-state.ts). */
  stateDir?: string;
  /** Fault proxies in front of devices; default: when the scenario has faults. */
  proxies?: boolean;
  shard?: { index: number; count: number };
  topicPrefix?: string;
  /** Run until aborted instead of for the scenario's duration (real time only). */
  untilAborted?: boolean;
  signal?: AbortSignal;
  onObservation?: (o: Observation) => void;
  onDeviceEvent?: (device: string, e: SimDeviceEvent) => void;
  /** The observer's connection to the broker failed (unreachable, refused, untrusted); it retries. */
  onBrokerProblem?: (reason: string) => void;
  /** Extra config for every device (OTA vendor, class, trust store). */
  deviceConfig?: Record<string, unknown>;
  /** Run this app instead of the built-in sensor-node (sim/app.ts); its samples are decoded by its declaration. */
  app?: SimApp;
  /** Everything is up and running. */
  onStarted?: (run: StartedRun) => void;
}

export interface StartedRun {
  brokerUrl: string;
  fleet: Fleet;
  observer: FleetObserver;
  clock: Clock;
  /** A fault now (its `atMs` is ignored), as a scenario's timeline would schedule it: live faults. */
  inject(fault: Fault): void;
}

export interface BrokerControl {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface SimRunResult {
  results: AssertionResult[];
  passed: boolean;
  brokerUrl: string;
  /** False when the run ended (duration, abort) before the broker ever accepted the observer. */
  brokerReached: boolean;
  /** The last reason the broker could not be reached, if it ever failed. */
  brokerProblem: string | undefined;
  /** What the run kept to check its assertions: bounded, whatever the message count. */
  summary: RunSummary;
  /** Wall-clock seconds the run took. */
  seconds: number;
  deviceMs: number;
}

/** After an abort (Ctrl-C, SIGTERM), how long the stop may wait for QoS 1/2 messages to arrive. */
const ABORTED_DRAIN_MS = 2000;

export async function runSimulation(options: SimRunOptions): Promise<SimRunResult> {
  const { scenario } = options;
  const started = performance.now();
  const clock: Clock =
    scenario.time.kind === 'virtual' ? new VirtualClock(0) : scenario.time.speed === 1 ? new RealClock() : new ScaledClock(scenario.time.speed);
  let broker: EmbeddedBroker | undefined;
  let brokerUrl = options.brokerUrl;
  if (!brokerUrl) {
    broker = await new EmbeddedBroker({ port: options.brokerPort ?? 1883, fallbackToFreePort: options.brokerPort === undefined }).start();
    brokerUrl = broker.url;
  }
  const summary = new RunSummary();
  const activity = new NetActivity();
  // At the fleet's highest QoS (at least 1, for the status and motion messages the assertions read).
  const qos = Math.max(1, ...scenario.groups.map((g) => g.qos)) as 1 | 2;
  const observer = new FleetObserver({ broker: brokerUrl, topicPrefix: options.topicPrefix, now: () => clock.now(), tls: options.observerTls ?? (options.caFile ? { ca: options.caFile } : undefined), activity, qos, telemetry: options.app ? [options.app.telemetry] : undefined });
  observer.on('observation', (o: Observation) => summary.observe(o));
  if (options.onObservation) observer.on('observation', options.onObservation);
  let brokerProblem: string | undefined;
  observer.on('session', (e: { type: string; reason?: string }) => {
    if (e.type !== 'connection-lost' || !e.reason) return;
    brokerProblem = e.reason;
    options.onBrokerProblem?.(e.reason);
  });
  let fleet: Fleet | undefined;
  let brokerReached = false;
  // Wall-clock length of the run; waiting for an unreachable broker may take as long, no longer.
  const wallMs = options.untilAborted ? Infinity : scenario.durationMs / (scenario.time.kind === 'real' ? scenario.time.speed : 1);
  try {
    brokerReached = await within(observer.start(), wallMs, options.signal);
    if (brokerReached) {
      fleet = await Fleet.create({
        engine: scenario.engine,
        groups: scenario.groups,
        brokerUrl,
        caFile: options.caFile,
        identities: options.identities,
        sharedIdentity: options.sharedIdentity,
        stateDir: options.stateDir,
        clock,
        seed: scenario.seed,
        epoch: scenario.epoch,
        proxies: options.proxies ?? scenario.faults.length > 0,
        topicPrefix: options.topicPrefix,
        shard: options.shard,
        deviceConfig: options.deviceConfig,
        app: options.app,
        activity,
        onDeviceEvent: (device, e) => {
          if (e.type === 'sample') summary.produced(device, e.seq, e.qos);
          options.onDeviceEvent?.(device, e);
        },
      });
      const f = fleet;
      const control: BrokerControl | undefined = options.brokerControl ?? (broker && { stop: () => broker!.stop(), start: () => broker!.start().then(() => undefined) });
      const virtual = scenario.time.kind === 'virtual';
      const fast = virtual || (scenario.time.kind === 'real' && scenario.time.speed > 1);
      const ctx = { fleet: f, clock, broker: control, summary, emulateBrokerKeepalive: fast };
      for (const fault of scenario.faults) scheduleFault(fault, ctx);
      await f.boot();
      const inject = (fault: Fault) => scheduleFault({ ...fault, atMs: clock.now() }, ctx);
      options.onStarted?.({ brokerUrl, fleet: f, observer, clock, inject });
      if (clock instanceof VirtualClock) await runVirtual(clock, activity, scenario.durationMs, options.signal);
      else if (options.untilAborted) await waitReal(Infinity, options.signal);
      else await f.runFor(scenario.durationMs, options.signal); // device time, from each device's own boot
      await f.stop();
      // The observer keeps real time: after a broker restart it may still be backing off while
      // the broker holds messages for it. Give it until everything sent at QoS 1/2 has arrived
      // (briefly when the user asked to stop).
      await untilObserved(observer, summary, options.signal?.aborted ? ABORTED_DRAIN_MS : 10_000);
      await networkQuiet(activity, 20, 2000);
    }
  } finally {
    await fleet?.dispose();
    await observer.stop().catch(() => undefined);
    if (clock instanceof RealClock || clock instanceof ScaledClock) clock.cancelAll();
    await broker?.stop();
  }
  const results = brokerReached ? checkAssertions(scenario.assertions, fleet!.members.map((m) => m.id), summary) : [];
  return {
    results,
    passed: brokerReached && results.every((r) => r.passed),
    brokerUrl,
    brokerReached,
    brokerProblem,
    summary,
    seconds: (performance.now() - started) / 1000,
    deviceMs: clock.now(),
  };
}

/** True once `p` resolves; false if `ms` pass or `signal` aborts first. Leaves no timer behind. */
async function within(p: Promise<void>, ms: number, signal?: AbortSignal): Promise<boolean> {
  const cancel = new AbortController();
  const onAbort = () => cancel.abort();
  signal?.addEventListener('abort', onAbort);
  try {
    return await Promise.race([p.then(() => true), waitReal(ms, cancel.signal).then(() => false)]);
  } finally {
    cancel.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}

interface FaultContext {
  fleet: Fleet;
  clock: Clock;
  broker: BrokerControl | undefined;
  summary: RunSummary;
  emulateBrokerKeepalive: boolean;
}

function scheduleFault(fault: Fault, ctx: FaultContext): void {
  const { fleet, clock } = ctx;
  const at = (ms: number, action: () => void | Promise<void>) => clock.schedule(ms, action);
  switch (fault.type) {
    case 'partition': {
      const members = fleet.select(fault.devices);
      const ids = members.map((m) => m.id);
      ctx.summary.addPartition({ devices: ids, startMs: fault.atMs, endMs: fault.atMs + fault.forMs });
      at(fault.atMs, () => fleet.partition(ids));
      if (ctx.emulateBrokerKeepalive) {
        for (const m of members) {
          const expiry = fault.atMs + m.group.keepalive * 1500;
          if (m.group.keepalive > 0 && expiry < fault.atMs + fault.forMs) at(expiry, () => fleet.severUpstream([m.id]));
        }
      }
      at(fault.atMs + fault.forMs, () => fleet.heal(ids));
      return;
    }
    case 'broker-restart': {
      const broker = ctx.broker;
      if (!broker) throw new Error('a broker restart needs the embedded broker (or a test that manages its own); not possible with --broker');
      // Stop and start are separate timer events: a virtual-time callback must not wait on a later timer.
      if (fault.downMs === 0) at(fault.atMs, async () => {
        await broker.stop();
        await broker.start();
      });
      else {
        at(fault.atMs, () => broker.stop());
        at(fault.atMs + fault.downMs, () => broker.start());
      }
      return;
    }
    case 'latency':
      at(fault.atMs, () => fleet.setLatency(fault.ms, fault.jitterMs, fault.devices));
      at(fault.atMs + fault.forMs, () => fleet.setLatency(0, 0, fault.devices));
      return;
    case 'reset':
      at(fault.atMs, () => fleet.reset(fault.devices));
      return;
    case 'power-loss':
      for (const id of fault.devices) {
        at(fault.atMs, () => fleet.powerLoss(id));
        at(fault.atMs + fault.offMs, () => fleet.powerOn(id));
      }
      return;
  }
}

/** Steps device time timer by timer, letting the network settle before each step. */
async function runVirtual(clock: VirtualClock, activity: NetActivity, endMs: number, signal?: AbortSignal): Promise<void> {
  for (;;) {
    if (signal?.aborted) return;
    await networkQuiet(activity, 2, 250);
    const next = clock.nextDueAt();
    if (next === undefined || next > endMs) {
      await clock.advanceTo(endMs);
      return;
    }
    await clock.advanceTo(next);
  }
}

/** Resolves once no socket event has happened for `quietMs`, or after `maxMs` regardless. */
export async function networkQuiet(activity: NetActivity, quietMs: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = activity.count;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    if (activity.count === last || performance.now() > deadline) return;
    last = activity.count;
  }
}

function untilObserved(observer: FleetObserver, summary: RunSummary, timeoutMs: number): Promise<void> {
  if (summary.missing() === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(finish, timeoutMs);
    function finish() {
      clearTimeout(timer);
      observer.off('observation', on);
      resolve();
    }
    function on(o: Observation) {
      if ((o.kind === 'telemetry' || o.kind === 'record') && summary.missing() === 0) finish();
    }
    observer.on('observation', on);
  });
}

function waitReal(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms)
      : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
