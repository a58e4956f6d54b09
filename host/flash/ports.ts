// Finding the board: the USB serial bridges ESP32 boards carry, by vendor/product id, and the
// translation of the OS's open errors into something a person can act on.

import { FlashError } from './errors.ts';

export interface PortListing {
  path: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
}

/** USB ids of the bridges found on ESP32 boards (lower-case hex, as serialport lists them). */
export const KNOWN_BRIDGES: ReadonlyArray<{ vendorId: string; productId: string; name: string }> = [
  { vendorId: '10c4', productId: 'ea60', name: 'Silicon Labs CP210x' },
  { vendorId: '1a86', productId: '7523', name: 'WCH CH340' },
  { vendorId: '0403', productId: '6001', name: 'FTDI FT232R' },
  { vendorId: '0403', productId: '6010', name: 'FTDI FT2232' },
  { vendorId: '0403', productId: '6014', name: 'FTDI FT232H' },
  { vendorId: '0403', productId: '6015', name: 'FTDI FT231X' },
  { vendorId: '303a', productId: '1001', name: 'Espressif USB Serial/JTAG' },
];

const norm = (id: string | undefined) => (id ?? '').toLowerCase().replace(/^0x/, '').padStart(4, '0');

export function bridgeName(port: PortListing): string | undefined {
  const v = norm(port.vendorId);
  const p = norm(port.productId);
  return KNOWN_BRIDGES.find((b) => b.vendorId === v && b.productId === p)?.name;
}

function describe(port: PortListing): string {
  const ids = port.vendorId ? `${norm(port.vendorId)}:${norm(port.productId)}` : 'no USB id';
  const name = bridgeName(port) ?? port.manufacturer ?? 'unknown device';
  return `  ${port.path}  (${ids}, ${name})`;
}

/** The one port that is a known ESP32 bridge, or an error listing what was found. */
export function pickPort(ports: PortListing[]): PortListing {
  const bridges = ports.filter((p) => bridgeName(p) !== undefined);
  if (bridges.length === 1) return bridges[0];
  if (bridges.length > 1) {
    throw new FlashError(
      'several-ports',
      `several USB serial bridges are plugged in; choose one with --port:\n${bridges.map(describe).join('\n')}`,
    );
  }
  const known = KNOWN_BRIDGES.map((b) => `${b.vendorId}:${b.productId} ${b.name}`).join(', ');
  const seen = ports.length ? `Serial ports found, none of them a known bridge:\n${ports.map(describe).join('\n')}\n` : 'No serial ports found at all.\n';
  throw new FlashError(
    'no-port',
    `no ESP32 board found. ${seen}Looked for ${known}. Check the USB cable carries data (not charge only), or name the port with --port.`,
  );
}

/**
 * bindings-cpp reports open failures as strerror text ("Error: Permission denied, cannot open
 * /dev/ttyUSB0", "Error Resource temporarily unavailable Cannot lock port"); those strings are the
 * contract here because the errors carry no code.
 */
export function openError(path: string, err: unknown): FlashError {
  const text = err instanceof Error ? err.message : String(err);
  if (/Permission denied|EACCES/i.test(text)) {
    return new FlashError(
      'permission-denied',
      `permission denied opening ${path}. On Linux add yourself to the group that owns it and log in again: ` +
        '`sudo usermod -aG dialout $USER` (uucp on Arch, `ls -l ' + path + '` shows the group).',
    );
  }
  if (/Cannot lock port|Resource temporarily unavailable|EBUSY|Device or resource busy/i.test(text)) {
    return new FlashError(
      'port-busy',
      `${path} is busy: another program holds it (a serial monitor, \`canopy serial\`, idf.py monitor, screen, ModemManager). Close it and try again.`,
    );
  }
  if (/No such file or directory|ENOENT|File not found/i.test(text)) {
    return new FlashError('port-missing', `${path} does not exist: is the board plugged in? Without --port, Canopy lists the serial ports it can see.`);
  }
  return new FlashError('port-failed', `cannot open ${path}: ${text}`);
}
