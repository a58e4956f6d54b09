// `canopy` entry: a table of subcommands, each loaded on demand so `canopy flash` does not pay
// for the simulator's imports and a missing optional part only fails the command that needs it.
import { UsageError } from './usage.ts';

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<{ default: Command }>> = {
  session: () => import('./commands/session.ts'),
  broker: () => import('./commands/broker.ts'),
  sim: () => import('./commands/sim.ts'),
  monitor: () => import('./commands/monitor.ts'),
  build: () => import('./commands/build.ts'),
  flash: () => import('./commands/flash.ts'),
  serial: () => import('./commands/serial.ts'),
  ota: () => import('./commands/ota.ts'),
  devices: () => import('./commands/devices.ts'),
  history: () => import('./commands/history.ts'),
};

export function registerCommand(name: string, load: () => Promise<{ default: Command }>): void {
  commands[name] = load;
}

async function printHelp(): Promise<void> {
  const lines = ['Usage: canopy <command> [flags]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    try {
      const { default: cmd } = await load();
      lines.push(`  ${name.padEnd(10)} ${cmd.summary}`);
    } catch (err) {
      lines.push(`  ${name.padEnd(10)} (unavailable: ${(err as Error).message})`);
    }
  }
  lines.push('', 'Run `canopy <command> --help` for its flags.');
  console.log(lines.join('\n'));
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`canopy: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}`);
    return 2;
  }
  const { default: cmd } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`canopy ${name}: ${err.message}\n\n${cmd.usage}`);
      return 2;
    }
    console.error(`canopy ${name}: ${(err as Error).message}`);
    if (process.env.CANOPY_DEBUG) console.error(err);
    return 1;
  }
}
