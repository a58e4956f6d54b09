// `canopy sim`: virtual devices running the device app on the real XS engine (or V8), against the
// embedded broker or any other, with a live view, JSON lines, or a scenario with assertions.
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { findXsnapWorker } from '../../host/xs/worker.ts';
import { formatReport, junitXml } from '../../sim/assertions.ts';
import type { FleetObserver } from '../../sim/observer.ts';
import { eventLine } from '../output.ts';
import { runSimulation } from '../../sim/runner.ts';
import { loadScenario, parseDuration, type Scenario } from '../../sim/scenario.ts';
import { LiveView, renderTable, rowsThatFit, type ViewSize } from '../../sim/view.ts';
import { redact } from '../../host/redact.ts';
import { readTrustStore, readUserFile } from '../../host/user-file.ts';
import { trustStoreJson } from '../../protocol/ota/trust.ts';
import { brokerConnection, brokerFlags } from '../broker-flags.ts';
import { readProvisionedDevices, validityProblem, type ProvisionedIdentity } from '../../host/client-identity.ts';
import { join } from 'node:path';
import { loadSimApp } from '../../sim/app.ts';
import { holdsApp } from '../../host/app-folder.ts';

const spec = verb({
  name: 'sim',
  summary: 'Runs virtual devices (the device app, unchanged) against an MQTT broker.',
  flags: {
    app: { type: 'string', value: 'DIR', help: 'run the device app in DIR (its manifest.json, main, telemetry and sim.json sensor models; default: the current folder if it holds an app, else the built-in sensor-node)' },
    devices: { type: 'string', value: 'N', help: 'devices to run (default 3)' },
    interval: { type: 'string', value: 'MS', help: 'telemetry interval in ms (default 5000; at least 1000)' },
    qos: { type: 'string', value: '0|1|2', help: 'telemetry QoS (default 1)' },
    duration: { type: 'string', value: 'S', help: 'stop cleanly after S seconds of device time (DISCONNECT, exit 0)' },
    seed: { type: 'string', value: 'N', help: 'seed for sensor models and jitter (default 1): runs with the same seed and --epoch repeat exactly' },
    epoch: { type: 'string', value: 'UNIX', help: 'the devices\' wall clock at start, Unix seconds (default: now); light follows the time of day' },
    speed: { type: 'string', value: 'X', help: 'device time runs X times faster than the wall clock' },
    'virtual-time': { type: 'boolean', help: 'device time jumps from event to event (needs --duration)' },
    engine: { type: 'string', value: 'xs|node', help: 'the real XS engine (default) or V8, for large fleets' },
    broker: { type: 'string', value: 'URL', help: 'use this broker instead of the embedded one (mqtt://, mqtts:// on 8883; user@ allowed, the password from --password-file, never printed)' },
    identities: { type: 'string', value: 'DIR', help: 'one device per DIR/ID/ that `canopy provision ID --out DIR` wrote: each logs in with its own certificate and key (and mqtt-password, if issued)' },
    state: { type: 'string', value: 'DIR', help: 'keep each device\'s flash and NVS in DIR: a stopped or killed run resumes like a power-cycled fleet' },
    port: { type: 'string', value: 'N', help: 'port for the embedded broker; refused if taken (default 1883, or a free one if 1883 is taken; 0 for any free port)' },
    prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
    shard: { type: 'string', value: 'I/N', help: 'run only every N-th device id starting at I (several hosts, one fleet)' },
    json: { type: 'boolean', help: 'JSON lines of decoded telemetry, events and status, each with "device"' },
    scenario: { type: 'string', value: 'FILE', help: 'run a scenario (YAML or JSON): faults and assertions; exit 1 if one fails' },
    junit: { type: 'string', value: 'FILE', help: 'with --scenario: also write JUnit XML' },
    'ota-trust': { type: 'string', value: 'FILE', help: 'devices take signed OTA updates (canopy ota push) checked against this trust store (canopy ota pubkey)' },
    'ota-vendor': { type: 'string', value: 'V', help: 'with --ota-trust: the vendor given to canopy ota pack (default canopy)' },
    'ota-class': { type: 'string', value: 'C', help: 'with --ota-trust: the class given to canopy ota pack (default sensor-v1)' },
    ...brokerFlags,
  },
  examples: [
    'sim                                          # 3 devices, embedded broker, live view',
    'sim --app examples/greenhouse --virtual-time --duration 10m --json   # your own app: its declared fields, decoded',
    'sim --devices 20 --interval 2000 --engine node',
    'sim --virtual-time --duration 1h --json > run.jsonl   # an hour of device time in seconds',
    'sim --scenario sim/scenarios/partition.yaml --junit report.xml',
    'sim --broker mqtts://127.0.0.1:8883 --ca ca/ca.pem --identities devices --cert people/mon-1.pem --key people/mon-1.key',
  ],
  notes: `TLS and login: --ca is the CA the devices and the simulator's own watching connection verify an
mqtts:// broker against (the devices always verify, as the firmware does; --insecure is for the
watching connection only). --cert/--key and --username/--password-file are the watching
connection's login (it subscribes to the whole fleet: the monitor role), and every device's too
unless --identities gives each device its own.

Killing the process abruptly looks like a power cut to an external broker: every device's will fires.

Live faults (in the live view, on a terminal): p partitions every device for 30 s, d cuts the
power of one device for 10 s, r restarts the embedded broker (5 s down), x resets every
connection, l adds 200 ± 50 ms of latency for 30 s.`,
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f } = parse(spec, args);
    if (f.junit && !f.scenario) throw new UsageError('--junit needs --scenario');
    if (f.speed && f['virtual-time']) throw new UsageError('--speed and --virtual-time exclude each other');
    const engine = f.engine ?? undefined;
    if (engine !== undefined && engine !== 'xs' && engine !== 'node') throw new UsageError(`--engine must be xs or node, got "${engine}"`);
    const shard = f.shard === undefined ? undefined : parseShard(f.shard);
    if (!f.broker) {
      const given = (['ca', 'cert', 'key', 'username', 'password-file', 'insecure'] as const).filter((k) => f[k] !== undefined);
      if (given.length) throw new UsageError(`--${given[0]} needs --broker: the embedded broker is plain mqtt:// on loopback with no login`);
    }
    if (f.identities !== undefined && f.devices !== undefined) throw new UsageError('--devices cannot be combined with --identities (one device per provisioned identity)');
    // TLS files, login and identities are checked before any broker or device starts.
    const conn = f.broker ? brokerConnection('sim', f.broker, f) : undefined;
    const identities: ProvisionedIdentity[] | undefined = f.identities === undefined ? undefined : readProvisionedDevices(f.identities);
    for (const d of identities ?? []) {
      const problem = validityProblem(d.identity, join(f.identities!, d.id, 'device.pem'));
      if (problem) process.stderr.write(`canopy sim: warning: device ${d.id}: ${problem}\n`);
    }

    let scenario: Scenario;
    let untilAborted = false;
    if (f.scenario) {
      for (const flag of ['devices', 'interval', 'qos', 'duration', 'speed', 'virtual-time'] as const) {
        if (f[flag] !== undefined) throw new UsageError(`--${flag} cannot be combined with --scenario (the scenario file sets it)`);
      }
      scenario = loadScenario(f.scenario);
      if (engine) scenario.engine = engine;
      if (f.seed !== undefined) scenario.seed = intFlag('seed', f.seed, 1, 0, 2 ** 31);
    } else {
      if (f['virtual-time'] && f.duration === undefined) throw new UsageError('--virtual-time needs --duration (virtual time runs as fast as it can)');
      const speed = f.speed === undefined ? 1 : Number(f.speed);
      if (!(speed > 0 && speed <= 10_000)) throw new UsageError(`--speed must be a number above 0 and at most 10000, got "${f.speed}"`);
      untilAborted = f.duration === undefined;
      scenario = {
        name: 'canopy sim',
        engine: engine ?? 'xs',
        seed: intFlag('seed', f.seed, 1, 0, 2 ** 31),
        durationMs: f.duration === undefined ? 0 : parseDurationFlag(f.duration),
        epoch: intFlag('epoch', f.epoch, Math.floor(Date.now() / 1000), 0, 2 ** 32 - 1),
        time: f['virtual-time'] ? { kind: 'virtual' } : { kind: 'real', speed },
        groups: [
          {
            count: identities?.length ?? intFlag('devices', f.devices, 3, 1, 100_000),
            prefix: 'sim',
            intervalMs: intFlag('interval', f.interval, 5000, 1000, 86_400_000),
            qos: intFlag('qos', f.qos, 1, 0, 2) as 0 | 1 | 2,
            keepalive: 30,
            dhtErrorRate: 0.005,
            motionPerHour: 6,
          },
        ],
        faults: [],
        assertions: [],
      };
    }
    const total = scenario.groups.reduce((n, g) => n + g.count, 0);
    if (identities && identities.length !== total) {
      throw new UsageError(`--identities ${f.identities} holds ${identities.length} devices but the scenario runs ${total}; give one identity per device`);
    }
    if (scenario.engine === 'xs') {
      try {
        findXsnapWorker();
      } catch (err) {
        throw new Error(`${(err as Error).message}\n  (or run the same device code on V8 with --engine node)`);
      }
    }

    // An app folder is read, bundled and checked before any broker or device starts.
    // --app naming Canopy's own folder is the built-in sensor-node, as running there without it is.
    const builtIn = (dir: string) => existsSync(join(dir, 'manifest.json')) && !holdsApp(dir);
    const appDir = f.app !== undefined ? (builtIn(f.app) ? undefined : f.app) : holdsApp(process.cwd()) ? '.' : undefined;
    const app = appDir === undefined ? undefined : await loadSimApp(appDir);
    if (app) process.stderr.write(`canopy sim: app "${app.telemetry.declaration.name}" (schema ${app.telemetry.id}) from ${app.dir}\n`);

    let deviceConfig: Record<string, unknown> | undefined;
    if (f['ota-trust']) {
      // Checked here, handed to the devices as the JSON they parse themselves.
      const trust = trustStoreJson(readTrustStore(f['ota-trust']));
      deviceConfig = { otaTrust: trust, otaVendor: f['ota-vendor'] ?? 'canopy', otaClass: f['ota-class'] ?? 'sensor-v1' };
    } else if (f['ota-vendor'] || f['ota-class']) throw new UsageError('--ota-vendor and --ota-class need --ota-trust');

    const controller = new AbortController();
    let interrupts = 0;
    const onSignal = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('canopy sim: stopping devices cleanly (Ctrl-C again to quit at once)\n');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const told = new Set<string>();
    let view: LiveView | undefined;
    const live = !f.json && !f.scenario;
    // Live faults need the fault proxies in front of the devices, and a terminal to type on.
    const liveFaults = live && Boolean(process.stdin.isTTY);
    let stopKeys: (() => void) | undefined;
    try {
      const result = await runSimulation({
        scenario,
        brokerUrl: conn?.url,
        caFile: f.ca,
        observerTls: conn?.tls,
        identities,
        // Without --identities the devices share the watching connection's certificate, if any.
        sharedIdentity: !identities && f.cert && f.key ? { cert: readUserFile(f.cert, 'client certificate'), key: readUserFile(f.key, 'client key') } : undefined,
        stateDir: f.state,
        onBrokerProblem: (reason) => process.stderr.write(redact(`canopy sim: ${conn ? `broker ${conn.url}` : 'embedded broker'}: ${reason}; retrying\n`)),
        onDeviceEvent: (device, e) => {
          // Each device's own refusal (its certificate, its login) once per reason: with provisioned
          // identities one device can be turned away while the others run.
          // A plain close or reset is a fault the view shows; a refusal with a reason is worth a line.
          if (e.type !== 'connection-lost' || /^(connection closed by the broker|the broker reset the connection)$/.test(e.reason)) return;
          if (told.has(`${device}\n${e.reason}`)) return;
          told.add(`${device}\n${e.reason}`);
          process.stderr.write(redact(`canopy sim: device ${device}: ${e.reason}; retrying\n`));
        },
        // Only the default port may fall back to a free one; an explicit --port is that port or an error.
        brokerPort: f.port === undefined ? undefined : intFlag('port', f.port, 1883, 0, 65535),
        topicPrefix: f.prefix,
        shard,
        deviceConfig,
        app,
        proxies: liveFaults || undefined,
        untilAborted,
        signal: controller.signal,
        onObservation: f.json ? (o) => process.stdout.write(`${eventLine(o, new Date(scenario.epoch * 1000 + o.at))}\n`) : undefined,
        onStarted: ({ brokerUrl, fleet, observer, clock, inject }) => {
          const where = conn ? `broker ${redact(conn.url)}` : `embedded broker ${brokerUrl}`;
          process.stderr.write(redact(`canopy sim: ${fleet.members.length} devices on the ${scenario.engine === 'xs' ? 'XS engine' : 'V8 engine'}, ${where}\n`));
          if (live) {
            let last = '';
            view = new LiveView((size) => draw(observer, redact(where), scenario, clock.now(), size, liveFaults ? 3 : 0) + (liveFaults ? `\n\nkeys: p partition · d power cut · r broker restart · x reset · l latency · Ctrl-C stop${last ? `\nlast: ${last}` : ''}` : ''));
            view.start();
            if (liveFaults) {
              stopKeys = onKeys((key) => {
                const ids = fleet.members.map((m) => m.id);
                const pick = ids[Math.floor(Math.random() * ids.length)];
                try {
                  if (key === 'p') inject({ type: 'partition', atMs: 0, forMs: 30_000 });
                  else if (key === 'd') inject({ type: 'power-loss', atMs: 0, offMs: 10_000, devices: [pick] });
                  else if (key === 'r') inject({ type: 'broker-restart', atMs: 0, downMs: 5000 });
                  else if (key === 'x') inject({ type: 'reset', atMs: 0 });
                  else if (key === 'l') inject({ type: 'latency', atMs: 0, forMs: 30_000, ms: 200, jitterMs: 50 });
                  else return;
                  last = { p: 'partition, 30 s', d: `power cut of ${pick}, 10 s`, r: 'broker restart', x: 'connection reset', l: 'latency 200 ± 50 ms, 30 s' }[key] ?? '';
                } catch (err) {
                  last = (err as Error).message;
                }
              }, onSignal);
            }
          }
        },
      });
      view?.stop();
      if (!result.brokerReached) {
        const why = result.brokerProblem ?? 'no answer';
        console.error(redact(`canopy sim: never reached the broker ${conn ? conn.url : result.brokerUrl} in ${result.seconds.toFixed(0)} s: ${why}`));
        return 1;
      }
      // Provisioned devices are the point of --identities: one the broker never heard from (its
      // certificate refused, say) means the run did not do what was asked, however the rest went.
      // (Stopped by the user, the run was as long as they wanted: no verdict then.)
      const silent = controller.signal.aborted ? [] : (identities ?? []).map((d) => d.id).filter((id) => !(result.summary.devices.get(id)?.telemetry));
      if (silent.length) {
        console.error(`canopy sim: no telemetry from ${silent.join(', ')} reached the broker in this run (the reason is above)`);
        if (!f.scenario) return 1;
      }
      if (f.scenario) {
        console.log(formatReport(scenario.name, result.results));
        console.log(`(${(result.deviceMs / 1000).toFixed(0)} s of device time in ${result.seconds.toFixed(1)} s)`);
        if (f.junit) writeFileSync(f.junit, junitXml(scenario.name, result.results, result.seconds));
        return result.passed ? 0 : 1;
      }
      return 0;
    } finally {
      stopKeys?.();
      view?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** Single keypresses from a terminal; Ctrl-C still stops the run. */
function onKeys(handler: (key: string) => void, interrupt: () => void): () => void {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  const on = (key: string) => (key === '\u0003' ? interrupt() : handler(key.toLowerCase()));
  stdin.on('data', on);
  stdin.resume();
  return () => {
    stdin.off('data', on);
    stdin.setRawMode(false);
    stdin.pause();
  };
}

function draw(observer: FleetObserver, where: string, scenario: Scenario, deviceMs: number, size: ViewSize, reserved: number): string {
  const time = scenario.time.kind === 'virtual' ? 'virtual time' : scenario.time.speed === 1 ? 'real time' : `×${scenario.time.speed}`;
  return renderTable({ title: 'canopy sim', facts: [where, `${scenario.engine} engine`, `device time ${clockText(deviceMs)} (${time})`] }, observer.rows.values(), { now: deviceMs, maxRows: rowsThatFit(size.rows, reserved) });
}

function clockText(ms: number): string {
  const s = Math.floor(ms / 1000);
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}

function parseDurationFlag(v: string): number {
  // Plain numbers are seconds, as the usage says; "90s", "5m", "2h" also work.
  try {
    const ms = parseDuration(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v, '--duration');
    if (ms <= 0) throw new Error('zero');
    return ms;
  } catch {
    throw new UsageError(`--duration must be a number of seconds (or e.g. 90s, 5m, 2h), got "${v}"`);
  }
}

function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard must be I/N with 0 <= I < N, got "${v}"`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

export default command;
