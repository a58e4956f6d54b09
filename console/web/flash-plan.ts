// What the browser flasher writes where, from the files a person picked: an ESP-IDF build
// folder's flasher_args.json offsets, a verified Canopy package's app image, or loose images
// placed where ESP-IDF puts them by default. Every image is parsed with the same ESP image
// parser the CLI and the devices use (protocol/ota/esp-image.ts), so its chip is known before a
// board is touched.
import { parseEspImage } from '../../protocol/ota/esp-image.ts';
import { OtaError } from '../../protocol/ota/reasons.ts';

export interface PlanEntry {
  address: number;
  name: string;
  data: Uint8Array;
  role: 'bootloader' | 'partition-table' | 'app' | 'data';
  chipId?: number;
  chipName?: string;
}

export class PlanError extends Error {}

export const APP_OFFSET = 0x10000;
const TABLE_OFFSET = 0x8000;
// Second-stage bootloader offset per chip id (esptool's BOOTLOADER_FLASH_OFFSET); 0 otherwise.
const BOOTLOADER_OFFSET: Record<number, number> = { 0x0000: 0x1000, 0x0002: 0x1000, 0x0012: 0x2000, 0x0017: 0x2000 };

export const hex = (n: number) => '0x' + n.toString(16);

export function describe(address: number, name: string, data: Uint8Array): PlanEntry {
  if (data.length === 0) throw new PlanError(`${name} is empty`);
  if (data[0] === 0xaa && data[1] === 0x50) return { address, name, data, role: 'partition-table' };
  if (data[0] !== 0xe9) return { address, name, data, role: 'data' };
  try {
    const info = parseEspImage(data, { requireAppDescriptor: false });
    return { address, name, data, role: info.appDescriptor ? 'app' : 'bootloader', chipId: info.header.chipId, chipName: info.header.chipName };
  } catch (err) {
    if (err instanceof OtaError) throw new PlanError(`${name} is not a valid ESP image: ${err.detail}`);
    throw err;
  }
}

/** `files`: path (relative inside a picked folder) to bytes. */
export function planFromFiles(files: Map<string, Uint8Array>): PlanEntry[] {
  const args = [...files.keys()].find((p) => p === 'flasher_args.json' || p.endsWith('/flasher_args.json'));
  let entries: PlanEntry[];
  if (args) {
    const base = args.slice(0, args.length - 'flasher_args.json'.length);
    let parsed: { flash_files?: Record<string, string> };
    try {
      parsed = JSON.parse(new TextDecoder().decode(files.get(args)));
    } catch (err) {
      throw new PlanError(`${args} is not valid JSON: ${(err as Error).message}`);
    }
    if (!parsed.flash_files || typeof parsed.flash_files !== 'object') throw new PlanError(`${args} has no "flash_files" object`);
    entries = Object.entries(parsed.flash_files).map(([addr, file]) => {
      const data = files.get(base + file);
      if (!data) throw new PlanError(`${args} lists ${file}, which is not in the folder`);
      return describe(Number(addr), file, data);
    });
  } else {
    const found = [...files].filter(([p]) => p.endsWith('.bin')).map(([p, d]) => describe(0, p.split('/').pop()!, d));
    const apps = found.filter((e) => e.role === 'app');
    if (apps.length !== 1) throw new PlanError(apps.length === 0 ? 'no app image among the files (an ESP-IDF .bin with an app descriptor)' : `several app images (${apps.map((a) => a.name).join(', ')}): pick one build's files`);
    entries = [];
    const boot = found.find((e) => e.role === 'bootloader');
    if (boot) entries.push({ ...boot, address: BOOTLOADER_OFFSET[boot.chipId ?? 0] ?? 0 });
    const table = found.find((e) => e.role === 'partition-table');
    if (table) entries.push({ ...table, address: TABLE_OFFSET });
    entries.push({ ...apps[0], address: APP_OFFSET });
  }
  return check(entries);
}

/** Alignment, overlaps, one chip for every image. */
export function check(entries: PlanEntry[]): PlanEntry[] {
  const sorted = [...entries].sort((a, b) => a.address - b.address);
  for (const e of sorted) if (e.address % 0x1000) throw new PlanError(`${e.name} at ${hex(e.address)}: flash addresses must be multiples of 0x1000`);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a.address + a.data.length > b.address) throw new PlanError(`${a.name} overlaps ${b.name} at ${hex(b.address)}`);
  }
  const chips = new Set(sorted.filter((e) => e.chipName).map((e) => e.chipName));
  if (chips.size > 1) throw new PlanError(`the images are built for different chips: ${[...chips].join(', ')}`);
  return sorted;
}
