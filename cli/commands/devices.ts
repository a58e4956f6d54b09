// `canopy devices`: one row per device from what the broker retains (status, info, health, OTA
// status), for a technician or a CI gate. The logic is fleet/devices.ts; this is flags and output.
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { brokerConnection, brokerFlags } from '../broker-flags.ts';
import { parseBrokerUrl } from '../../protocol/broker-url.ts';
import { redact } from '../../host/redact.ts';
import { Topics } from '../../protocol/topics.ts';
import { LiveView } from '../../sim/view.ts';
import { BrokerUnreachable, deviceJson, FleetWatcher, onlineCount, renderDevices } from '../../fleet/devices.ts';

const spec = verb({
  name: 'devices',
  summary: 'List the fleet: online/stale/offline, last seen, firmware, last OTA, last sample.',
  forms: ['--broker URL [--prefix P] [--json] [--watch] [--require-online N] [--timeout S]'],
  description: [
    'Lists every device the broker knows under the topic prefix: online, stale (samples overdue by',
    '1.5 intervals) or offline, last seen, offline since, firmware version and OTA seq, the last OTA',
    'result, the last sample and its age, error counters.',
  ].join('\n'),
  flags: {
    broker: { type: 'string', value: 'URL', help: 'the broker the fleet reports to, e.g. mqtt://127.0.0.1:1883 or mqtts://broker:8883' },
    prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
    json: { type: 'boolean', help: 'one JSON array of devices (with --watch: one JSON line per change)' },
    watch: { type: 'boolean', help: 'keep listening and redraw; Ctrl-C quits' },
    'require-online': { type: 'string', value: 'N', help: 'exit 1 when fewer than N devices are online (not with --watch)' },
    timeout: { type: 'string', value: 'S', help: 'give up reaching the broker after S seconds (default 10)' },
    ...brokerFlags,
  },
  examples: [
    'devices --broker mqtt://127.0.0.1:1883',
    'devices --broker mqtts://broker.example:8883 --require-online 20   # a CI gate: exit 1 below 20 online',
    'devices --broker mqtt://127.0.0.1:1883 --watch --json > fleet.jsonl',
    'devices --broker mqtts://broker.example --ca ca/ca.pem --cert people/mon-1.pem --key people/mon-1.key',
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f } = parse(spec, args);
    if (!f.broker) throw new UsageError('--broker URL is required, e.g. --broker mqtt://127.0.0.1:1883');
    try {
      parseBrokerUrl(f.broker);
    } catch (err) {
      throw new UsageError(`--broker: ${redact((err as Error).message)}`);
    }
    const conn = brokerConnection('devices', f.broker, f);
    try {
      if (f.prefix !== undefined) new Topics(f.prefix);
    } catch (err) {
      throw new UsageError(`--prefix: ${(err as Error).message}`);
    }
    const required = f['require-online'] === undefined ? undefined : intFlag('require-online', f['require-online'], 0, 0, 1_000_000);
    if (required !== undefined && f.watch) throw new UsageError('--require-online is a one-shot check; it cannot be combined with --watch');
    const timeoutS = intFlag('timeout', f.timeout, 10, 1, 3600);

    const watcher = new FleetWatcher({ broker: conn.address, tls: conn.tls, topicPrefix: f.prefix, connectTimeoutMs: timeoutS * 1000 });
    try {
      await watcher.start();
    } catch (err) {
      if (err instanceof BrokerUnreachable) {
        console.error(`canopy devices: ${err.message}`);
        return 1;
      }
      throw err;
    }
    if (f.watch) return watch(watcher, Boolean(f.json));

    const rows = watcher.rows();
    await watcher.stop();
    const now = Date.now();
    if (f.json) console.log(JSON.stringify(rows.map((r) => deviceJson(r, now)), null, 2));
    else console.log(renderDevices(rows, now));
    if (required !== undefined && onlineCount(rows) < required) {
      console.error(`canopy devices: ${onlineCount(rows)} of ${rows.length} devices online, fewer than the ${required} required`);
      return 1;
    }
    return 0;
  },
};

async function watch(watcher: FleetWatcher, json: boolean): Promise<number> {
  // Listening before the first line is out: until a listener exists, SIGINT's default action
  // kills the process, and a caller that quits on seeing output would get a signal death.
  const quit = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  let view: LiveView | undefined;
  let judge: NodeJS.Timeout | undefined;
  if (json) {
    // A line per device whose row changed: a message came, or it turned stale with none coming.
    const last = new Map<string, string>();
    const report = (id: string) => {
      const row = watcher.registry.row(id, Date.now());
      if (!row) return;
      const key = JSON.stringify(row);
      if (last.get(id) === key) return;
      last.set(id, key);
      process.stdout.write(`${JSON.stringify(deviceJson(row, Date.now()))}\n`);
    };
    for (const r of watcher.rows()) report(r.id);
    watcher.on('device', report);
    judge = setInterval(() => {
      for (const r of watcher.rows()) report(r.id);
    }, 1000);
  } else {
    view = new LiveView(() => renderDevices(watcher.rows(), Date.now()));
    view.start();
  }
  await quit;
  clearInterval(judge);
  view?.stop();
  await watcher.stop();
  return 0;
}

export default command;
