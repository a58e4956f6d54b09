// `canopy monitor`: the simulator's live view (or JSON lines) for a real fleet on any broker.
import type { Command } from '../cli.ts';
import { parseFlags, UsageError } from '../usage.ts';
import { FleetObserver, observationJson } from '../../sim/observer.ts';
import { LiveView, renderTable } from '../../sim/view.ts';
import { redact } from '../redact.ts';

const usage = `Usage: canopy monitor --broker URL [--prefix P] [--json]

Subscribes to a fleet's topics (<prefix>/+/#), decodes telemetry, motion events and status with
the shared protocol module, and shows one row per device (online/offline from the retained
status and the will). --json prints one JSON line per message instead. Ctrl-C quits.`;

const command: Command = {
  summary: 'live view (or JSON lines) of a real fleet on any broker',
  usage,
  async run(args) {
    const { values: f } = parseFlags(args, { broker: { type: 'string' }, prefix: { type: 'string' }, json: { type: 'boolean' } });
    if (!f.broker) throw new UsageError('--broker URL is required, e.g. --broker mqtt://127.0.0.1:1883');
    const observer = new FleetObserver({ broker: f.broker, topicPrefix: f.prefix });
    let view: LiveView | undefined;
    if (f.json) observer.on('observation', (o) => process.stdout.write(`${observationJson(o)}\n`));
    observer.on('session', (e: { type: string; reason?: string }) => {
      if (e.type === 'connection-lost') process.stderr.write(redact(`canopy monitor: ${e.reason}; reconnecting\n`));
    });
    const connecting = setTimeout(() => process.stderr.write(redact(`canopy monitor: still connecting to ${f.broker}…\n`)), 3000);
    await observer.start();
    clearTimeout(connecting);
    if (!f.json) {
      view = new LiveView(() => renderTable({ title: 'canopy monitor', facts: [redact(f.broker!)] }, observer.rows.values()));
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
