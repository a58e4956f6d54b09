// `canopy` entry: a table of verbs, each imported only when it is the one asked for, so
// `canopy flash` does not pay for the simulator's imports (nor `canopy --help` for anyone's) and a
// missing optional part only fails the verb that needs it.
import { version } from './version.ts';
import { UsageError } from '../host/flags.ts';
import type { Command } from './command.ts';
import { usageText } from './flags.ts';
import { errorLine } from './output.ts';
import { redact } from '../host/redact.ts';

interface Entry {
  summary: string;
  load: () => Promise<{ default: Command }>;
}

const verbs: Record<string, Entry> = {
  session: { summary: 'run one MQTT session against a broker and print its events', load: () => import('./commands/session.ts') },
  broker: { summary: 'run the embedded MQTT broker (aedes) on loopback', load: () => import('./commands/broker.ts') },
  sim: { summary: 'run virtual devices against a broker (live view, JSON, scenarios)', load: () => import('./commands/sim.ts') },
  monitor: { summary: 'live view (or JSON lines) of a real fleet on any broker', load: () => import('./commands/monitor.ts') },
  build: { summary: 'build the firmware with the Moddable SDK (mcconfig) for esp32 or lin', load: () => import('./commands/build.ts') },
  flash: { summary: 'write a build to an ESP32 over USB serial, verified', load: () => import('./commands/flash.ts') },
  serial: { summary: 'show device logs from a serial port, with timestamps', load: () => import('./commands/serial.ts') },
  ota: { summary: 'signed OTA: keys, packages, verify, push and rollout', load: () => import('./commands/ota.ts') },
  ca: { summary: 'fleet CA: init, and client/server certificates', load: () => import('./commands/ca.ts') },
  provision: { summary: 'issue a device its key, certificate and NVS settings image', load: () => import('./commands/provision.ts') },
  devices: { summary: 'list the fleet: online/stale/offline, last seen, firmware, last OTA, last sample', load: () => import('./commands/devices.ts') },
  history: { summary: "one field of a device's stored telemetry over a time range (table, CSV, JSON)", load: () => import('./commands/history.ts') },
  bridge: { summary: 'long-running: fleet CBOR to JSON topics, Home Assistant discovery and the history store', load: () => import('./commands/bridge.ts') },
  export: { summary: 'stored samples of the fleet or some devices over a time range, as CSV or JSON lines', load: () => import('./commands/export.ts') },
  console: { summary: 'web console: live fleet table, device plots, OTA uploads and rollouts, browser flasher', load: () => import('./commands/console.ts') },
  acl: { summary: 'broker ACL: each device only its own topics, technician and monitor roles', load: () => import('./commands/acl.ts') },
  new: { summary: 'scaffold a device app in a new folder (manifest, main, telemetry, sim models, test)', load: () => import('./commands/new.ts') },
};

export { version } from './version.ts';

function overview(): string {
  const lines = ['Usage: npx canopy <command> [flags]', '', 'Commands:'];
  for (const [name, v] of Object.entries(verbs)) lines.push(`  ${name.padEnd(10)} ${v.summary}`);
  lines.push('', 'Run `npx canopy <command> --help` for its flags and examples; `npx canopy --version` for the version.');
  return lines.join('\n');
}

/** One line saying what went wrong (and, for a usage mistake, where help is); as JSON with --json. */
function report(command: string, message: string, code: number, reason: string, json: boolean): void {
  const hint = reason === 'usage' ? `npx canopy ${command} --help` : undefined;
  // Messages may quote a broker URL or a flag back: never with its password (host/redact.ts).
  const text = redact(message);
  if (json) console.log(errorLine(command, { reason, code, message: text, ...(hint ? { hint } : {}) }));
  else console.error(`canopy ${command}: ${text}${hint ? `\nRun \`${hint}\` for its flags and examples.` : ''}`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(`canopy ${version()}`);
    return 0;
  }
  if (name === 'help' && rest[0]) return main([rest[0], ...rest.slice(1), '--help']);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? console.log : console.error)(overview());
    return name ? 0 : 2;
  }
  const json = rest.includes('--json');
  const entry = Object.hasOwn(verbs, name) ? verbs[name] : undefined;
  if (!entry) {
    const message = name.startsWith('-') ? `unknown flag "${name}" before a command` : `unknown command "${name}" (commands: ${Object.keys(verbs).join(', ')})`;
    if (json) console.log(errorLine(name, { reason: 'usage', code: 2, message, hint: 'npx canopy --help' }));
    else console.error(`canopy: ${message}\nRun \`npx canopy --help\` for the list.`);
    return 2;
  }
  const { default: cmd } = await entry.load();
  const sub = cmd.subverbs && rest[0] !== undefined && Object.hasOwn(cmd.subverbs, rest[0]) ? cmd.subverbs[rest[0]] : undefined;
  const command = sub ? sub.name : name;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usageText(sub ?? { ...cmd.spec, summary: cmd.spec.summary ?? entry.summary }));
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      report(command, err.message, 2, 'usage', json);
      return 2;
    }
    report(command, (err as Error).message, 1, 'error', json);
    if (process.env.CANOPY_DEBUG) console.error(err);
    return 1;
  }
}
