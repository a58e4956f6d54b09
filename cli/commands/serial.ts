// `canopy serial`: a serial monitor for device logs.
import type { Command } from '../command.ts';
import { intFlag, parse, verb } from '../flags.ts';
import { choosePort, type FlashIo } from './flash.ts';

const spec = verb({
  name: 'serial',
  summary: 'Shows device logs from a serial port, with timestamps. Ctrl-C closes the port and exits.',
  flags: {
    port: { type: 'string', value: 'PATH', help: 'serial port (default $CANOPY_PORT, else the one USB serial bridge plugged in)' },
    baud: { type: 'string', value: 'N', help: 'baud rate (default 115200, what ESP-IDF logs at)' },
    reset: { type: 'boolean', help: 'reset the board on open (EN through RTS) so the log starts at boot' },
    'no-timestamps': { type: 'boolean', help: 'print lines as they come, without the [hh:mm:ss.mmm] prefix' },
  },
  examples: ['serial --reset', 'serial --port /dev/ttyUSB0 --baud 921600 --no-timestamps'],
});

export async function runSerial(args: string[], io: Omit<FlashIo, 'tty'>, signal: AbortSignal): Promise<number> {
  const { values } = parse(spec, args);
  const port = await choosePort(values.port, { ...io, tty: false });
  const baud = intFlag('baud', values.baud, 115200, 300, 5_000_000);
  // serialport loads when a port is opened, not for `canopy serial --help` (cold start).
  const { monitorPort } = await import('../../host/serial/monitor.ts');
  const end = await monitorPort({
    path: port.path,
    baud,
    binding: io.binding,
    reset: values.reset,
    timestamps: !values['no-timestamps'],
    signal,
    write: io.out,
    note: (t) => io.err(t + '\n'),
    onOpen: () => io.err(`monitoring ${port.path} at ${baud} baud (Ctrl-C to stop)\n`),
  });
  if (end === 'port-closed') {
    io.err(`${port.path} closed: the board was unplugged or reset its USB\n`);
    return 1;
  }
  return 0;
}

const command: Command = {
  spec,
  async run(args) {
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    try {
      return await runSerial(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }, stop.signal);
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};

export default command;
