// `canopy monitor`: the simulator's live view (or JSON lines) for a real fleet on any broker.
import type { Command } from '../command.ts';
import { parse, UsageError, verb } from '../flags.ts';
import { FleetObserver } from '../../sim/observer.ts';
import { eventLine } from '../output.ts';
import { LiveView, renderTable, rowsThatFit } from '../../sim/view.ts';
import { redact } from '../../host/redact.ts';
import { brokerConnection, brokerFlags } from '../broker-flags.ts';
import { loadSimApp } from '../../sim/app.ts';

const spec = verb({
  name: 'monitor',
  forms: ['--broker URL [--prefix P] [--json] [--app DIR]'],
  description: `Subscribes to a fleet's topics (<prefix>/+/#), decodes telemetry, motion events and status with
the shared protocol module, and shows one row per device (online/offline from the retained
status and the will; stale when samples are 1.5 intervals overdue), when each was last heard, and its
firmware version. Ctrl-C quits.`,
  flags: {
    broker: { type: 'string', value: 'URL', help: 'the fleet\'s broker (mqtt:// or mqtts://)' },
    prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
    json: { type: 'boolean', help: 'one JSON line per message instead of the live view' },
    app: { type: 'string', multiple: true, value: 'DIR', help: "decode the samples of the device app in DIR by its declared telemetry (the sensor-node's are always known)" },
    ...brokerFlags,
  },
  examples: ['monitor --broker mqtt://broker.local:1883', 'monitor --broker mqtt://127.0.0.1:1883 --json > fleet.jsonl',
    'monitor --broker mqtts://broker.local --ca fleet-ca.pem --cert tech.pem --key tech.key',
    'monitor --broker mqtt://127.0.0.1:1883 --app examples/greenhouse --json   # a fleet of your own app'],
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f } = parse(spec, args);
    if (!f.broker) throw new UsageError('--broker URL is required, e.g. --broker mqtt://127.0.0.1:1883');
    const conn = brokerConnection('monitor', f.broker, f);
    // An app's samples carry its schema id; without its declaration they are decode errors, never misread.
    const telemetry = [];
    for (const dir of f.app ?? []) telemetry.push((await loadSimApp(dir)).telemetry);
    const observer = new FleetObserver({ broker: conn.url, tls: conn.tls, topicPrefix: f.prefix, telemetry });
    let view: LiveView | undefined;
    if (f.json) observer.on('observation', (o) => process.stdout.write(`${eventLine(o, new Date())}\n`));
    observer.on('session', (e: { type: string; reason?: string }) => {
      if (e.type === 'connection-lost') process.stderr.write(redact(`canopy monitor: ${e.reason}; reconnecting\n`));
    });
    const connecting = setTimeout(() => process.stderr.write(redact(`canopy monitor: still connecting to ${conn.display}…\n`)), 3000);
    await observer.start();
    clearTimeout(connecting);
    if (!f.json) {
      view = new LiveView((size) => renderTable({ title: 'canopy monitor', facts: [conn.display] }, observer.rows.values(), { now: performance.now(), maxRows: rowsThatFit(size.rows) }));
      view.start();
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    view?.stop();
    await observer.stop();
    return 0;
  },
};

export default command;
