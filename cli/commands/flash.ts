// `canopy flash`: put a build on a board over USB serial with esptool-js.
import type { Command } from '../command.ts';
import { FlashError } from '../../host/flash/errors.ts';
import type { FlashReport } from '../../host/flash/flasher.ts';
import { verifyOtaPackage, type OtaPayloadStep } from '../../host/flash/ota-input.ts';
import { APP_BUILD_DIR, appEsp32Build, holdsApp } from '../../host/app-folder.ts';
import { addNvsImage, parseAddress, planFromBuildDir, planFromOtaPackage, planFromPairs, type FlashPlan } from '../../host/flash/plan.ts';
import { pickPort, type PortListing } from '../../host/flash/ports.ts';
import { progressLine, summaryLines } from '../../host/flash/progress.ts';
import type { WebSerialPort, SerialBinding } from '../../host/flash/web-serial.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { errorLine, resultLine } from '../output.ts';

const spec = verb({
  name: 'flash',
  forms: ['[flags] BUILD_DIR', '[flags] ADDRESS=FILE [ADDRESS=FILE ...]', '[flags] --ota PACKAGE --trust TRUST.json [--app-offset ADDR]'],
  summary: 'Writes a build to an ESP32 over USB serial (esptool-js), checked before the port opens and read back by MD5.',
  args: {
    BUILD_DIR: 'an ESP-IDF or mcconfig build folder: offsets from flasher_args.json or flash_project_args, else bootloader/partition table/app found by content',
    'ADDRESS=FILE': 'e.g. 0x1000=bootloader.bin 0x8000=partition-table.bin 0x10000=app.bin',
  },
  flags: {
    ota: { type: 'string', value: 'PACKAGE', help: 'a signed Canopy OTA package: its payload goes to the app offset once verified' },
    trust: { type: 'string', value: 'FILE', help: 'with --ota: the trust store (canopy ota pubkey) its signatures must satisfy' },
    'app-offset': { type: 'string', value: 'ADDR', help: 'where an OTA payload goes (default 0x10000)' },
    nvs: { type: 'string', value: 'FILE', help: "the device's NVS image (nvs.bin from `canopy provision`), written over the whole nvs partition of the partition table being flashed" },
    port: { type: 'string', value: 'PATH', help: 'serial port (default $CANOPY_PORT, else the one USB serial bridge plugged in)' },
    baud: { type: 'string', value: 'N', help: 'baud rate once connected (default 460800; the ROM always starts at 115200)' },
    erase: { type: 'boolean', help: 'erase the whole flash first' },
    'no-compress': { type: 'boolean', help: 'send images uncompressed' },
    verify: { type: 'boolean', help: 'read every file back by MD5 (the default)' },
    'no-verify': { type: 'boolean', help: 'skip the MD5 read-back' },
    'no-reset': { type: 'boolean', help: 'stay in the loader afterwards instead of starting the new firmware' },
    'connect-attempts': { type: 'string', value: 'N', help: 'reset-and-sync attempts before giving up (default 7)' },
    json: { type: 'boolean', help: 'print the summary (or the error) as JSON on stdout (docs/cli-json.md), no progress bars' },
    verbose: { type: 'boolean', help: "show esptool-js's own log" },
  },
  examples: [
    'flash path/to/build',
    'flash                                  # in an app\'s folder: its esp32 build (canopy build --target esp32)',
    'flash 0x1000=bootloader.bin 0x8000=partition-table.bin 0x10000=app.bin',
    'flash --erase --baud 921600 path/to/build   # wipe NVS too; faster link',
    'flash --ota app.canopy --trust trust.json',
    'flash path/to/build --nvs devices/greenhouse-7/nvs.bin   # one firmware, this device\'s identity and settings',
  ],
  notes: 'If the board does not answer: hold BOOT, tap EN/RESET, release BOOT and run the command again.',
});

export interface FlashIo {
  out(text: string): void;
  err(text: string): void;
  /** Redraw progress in place (a terminal) or print one line per finished file. */
  tty: boolean;
  /** Serial binding; the OS one when absent (tests plug in a fake board). */
  binding?: SerialBinding;
  env?: NodeJS.ProcessEnv;
  ota?: OtaPayloadStep;
}

const consoleIo = (): FlashIo => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  tty: process.stderr.isTTY === true,
});

export async function listPorts(binding?: SerialBinding): Promise<PortListing[]> {
  // serialport and esptool-js load when a port is used, not for `canopy flash --help` (cold start).
  const list = binding ? (binding as { list(): Promise<PortListing[]> }).list() : (await import('serialport')).SerialPort.list();
  return (await list).map((p) => ({ path: p.path, vendorId: p.vendorId, productId: p.productId, manufacturer: p.manufacturer }));
}

/** --port, else $CANOPY_PORT, else the one known bridge; with its USB ids for esptool's reset choice. */
export async function choosePort(flag: string | undefined, io: FlashIo): Promise<WebSerialPort> {
  const named = flag ?? (io.env ?? process.env).CANOPY_PORT;
  const ports = await listPorts(io.binding).catch(() => [] as PortListing[]);
  const listing = named ? (ports.find((p) => p.path === named) ?? { path: named }) : pickPort(ports);
  const id = (s?: string) => (s ? parseInt(s, 16) : undefined);
  const { WebSerialPort } = await import('../../host/flash/web-serial.ts');
  return new WebSerialPort(listing.path, { usbVendorId: id(listing.vendorId), usbProductId: id(listing.productId) }, io.binding);
}

async function buildPlan(positionals: string[], ota: string | undefined, appOffset: string | undefined, step: OtaPayloadStep): Promise<FlashPlan> {
  if (ota) {
    if (positionals.length) throw new UsageError('--ota takes the package alone, without BUILD_DIR or ADDRESS=FILE');
    return planFromOtaPackage(ota, step, appOffset === undefined ? undefined : parseAddress(appOffset, '--app-offset'));
  }
  if (appOffset !== undefined) throw new UsageError('--app-offset only applies with --ota');
  if (positionals.length === 0 && holdsApp(process.cwd())) {
    // In an app's folder: the esp32 build that `canopy build --target esp32` wrote there.
    const built = appEsp32Build(process.cwd());
    if (!built) throw new UsageError(`no esp32 build of this app in ./${APP_BUILD_DIR}: run npx canopy build --target esp32 first`);
    return planFromBuildDir(built);
  }
  if (positionals.length === 0) throw new UsageError('say what to flash: a build folder, ADDRESS=FILE pairs or --ota PACKAGE');
  if (positionals.every((p) => p.includes('='))) return planFromPairs(positionals);
  if (positionals.length === 1) return planFromBuildDir(positionals[0]);
  throw new UsageError('give either one build folder or ADDRESS=FILE pairs, not a mix');
}

export async function runFlash(args: string[], io: FlashIo = consoleIo()): Promise<number> {
  const { values, positionals } = parse(spec, args);
  const baud = intFlag('baud', values.baud, 460800, 9600, 5_000_000);
  const attempts = intFlag('connect-attempts', values['connect-attempts'], 7, 1, 100);
  const json = values.json === true;
  try {
    if (values.trust && !values.ota) throw new UsageError('--trust only applies with --ota');
    if (values.nvs !== undefined && values.ota) throw new UsageError('--nvs needs the partition table of a build folder or ADDRESS=FILE pairs; --ota writes the app only');
    const built = await buildPlan(positionals, values.ota, values['app-offset'], io.ota ?? verifyOtaPackage(values.trust));
    const plan = values.nvs === undefined ? built : addNvsImage(built, values.nvs);
    const port = await choosePort(values.port, io);
    if (!json) io.err(`flashing ${plan.entries.length} file(s) from ${plan.source} through ${port.path}\n`);
    let current = -1;
    const { flashPlan } = await import('../../host/flash/flasher.ts');
    const report: FlashReport = await flashPlan(plan, {
      port,
      baud,
      erase: values.erase,
      compress: !values['no-compress'],
      verify: !values['no-verify'],
      noReset: values['no-reset'],
      connectAttempts: attempts,
      log: values.verbose ? (line) => io.err(`  | ${line}\n`) : undefined,
      onProgress: json
        ? undefined
        : ({ index, entry, sent, total }) => {
            const line = progressLine(entry.name, entry.address, sent, total);
            if (io.tty) io.err(`\r${line}${sent >= total ? '\n' : ''}`);
            else if (sent >= total && index !== current) io.err(`${line}\n`);
            if (sent >= total) current = index;
          },
    });
    if (json) io.out(resultLine('flash', { ...report }) + '\n');
    else io.out(summaryLines(report).join('\n') + '\n');
    return 0;
  } catch (err) {
    if (json && err instanceof FlashError) {
      io.out(errorLine('flash', { reason: err.reason, code: 1, message: err.message }) + '\n');
      return 1;
    }
    throw err;
  }
}

const command: Command = {
  spec,
  run: (args) => runFlash(args),
};

export default command;
