// What goes where in flash, decided and checked before a port is opened: from an ESP-IDF/mcconfig
// build folder (the offsets the build recorded in flasher_args.json or flash_project_args, else the
// partition table's), from ADDRESS=FILE pairs, or from an OTA package's verified payload. Every
// image is parsed (protocol/ota/esp-image) so its chip id can be compared with the board later and
// a damaged file is refused here rather than discovered after a reboot.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileProblem } from '../user-file.ts';
import { basename, join, relative, resolve } from 'node:path';
import { chipLabel, parseEspImage } from '../../protocol/ota/esp-image.ts';
import { hex } from '../../protocol/ota/le.ts';
import { OtaError } from '../../protocol/ota/reasons.ts';
import { FlashError } from './errors.ts';
import type { OtaPayloadStep } from './ota-input.ts';
import { bootAppPartition, isPartitionTable, nvsPartition, parsePartitionTable, type Partition } from './partition-table.ts';
import { nvsImageProblem } from '../nvs/writer.ts';

export type EntryRole = 'bootloader' | 'partition-table' | 'app' | 'data' | 'nvs';

export interface FlashEntry {
  address: number;
  /** File name as the person gave it (or the build recorded it), for messages and the summary. */
  name: string;
  data: Uint8Array;
  role: EntryRole;
  /** ESP image chip id (header byte 12), for images only. */
  chipId?: number;
  chipName?: string;
}

export interface FlashPlan {
  source: string;
  entries: FlashEntry[];
  partitions?: Partition[];
}

export const SECTOR = 0x1000;
export const DEFAULT_PARTITION_TABLE_OFFSET = 0x8000;
export const DEFAULT_APP_OFFSET = 0x10000;

// Second-stage bootloader offset per chip id (esptool's BOOTLOADER_FLASH_OFFSET).
const BOOTLOADER_OFFSET: Record<number, number> = { 0x0000: 0x1000, 0x0002: 0x1000, 0x0012: 0x2000, 0x0017: 0x2000 };

export function parseAddress(text: string, what = 'address'): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new FlashError('plan', `${what} "${text}" is not a number (write 0x10000 or 65536)`);
  return n;
}

function readInput(path: string, name: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new FlashError('plan', `cannot read ${name}: ${fileProblem(err)}`);
  }
}

/** Classifies one input by its content; refuses an ESP image that does not parse. */
export function describeEntry(address: number, name: string, data: Uint8Array): FlashEntry {
  if (data.length === 0) throw new FlashError('plan', `${name} is empty`);
  if (isPartitionTable(data)) return { address, name, data, role: 'partition-table' };
  if (data[0] !== 0xe9) return { address, name, data, role: 'data' };
  try {
    const info = parseEspImage(data, { requireAppDescriptor: false });
    const role = info.appDescriptor ? 'app' : 'bootloader';
    return { address, name, data, role, chipId: info.header.chipId, chipName: info.header.chipName };
  } catch (err) {
    if (err instanceof OtaError) throw new FlashError('plan', `${name} is not a valid ESP image: ${err.detail}`);
    throw err;
  }
}

/** `0x1000=bootloader.bin 0x8000=partition-table.bin ...` */
export function planFromPairs(pairs: string[], cwd = process.cwd()): FlashPlan {
  const entries = pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new FlashError('plan', `"${pair}" is not ADDRESS=FILE (e.g. 0x10000=app.bin)`);
    const address = parseAddress(pair.slice(0, eq), `address in "${pair}"`);
    const name = pair.slice(eq + 1);
    return describeEntry(address, name, readInput(resolve(cwd, name), name));
  });
  return checkPlan({ source: pairs.join(' '), entries });
}

/** A build output folder: flasher_args.json, flash_project_args, or the images themselves. */
export function planFromBuildDir(dir: string): FlashPlan {
  for (const base of [dir, join(dir, 'build')]) {
    const json = join(base, 'flasher_args.json');
    if (existsSync(json)) return planFromFlasherArgs(base, json);
    const args = join(base, 'flash_project_args');
    if (existsSync(args)) return planFromProjectArgs(base, args);
  }
  return planFromImages(dir);
}

function fromRecorded(base: string, source: string, files: Array<[string, string]>): FlashPlan {
  if (files.length === 0) throw new FlashError('plan', `${source} lists no files to flash`);
  const entries = files.map(([addr, file]) => describeEntry(parseAddress(addr, `address in ${source}`), file, readInput(join(base, file), join(relative(process.cwd(), base) || '.', file))));
  return checkPlan({ source, entries });
}

function planFromFlasherArgs(base: string, path: string): FlashPlan {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FlashError('plan', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  const files = (parsed as { flash_files?: unknown }).flash_files;
  if (!files || typeof files !== 'object') throw new FlashError('plan', `${path} has no "flash_files" object`);
  return fromRecorded(base, path, Object.entries(files as Record<string, unknown>).map(([a, f]) => [a, String(f)]));
}

// Lines of "ADDRESS FILE", after option lines such as "--flash_mode dio --flash_size 2MB".
function planFromProjectArgs(base: string, path: string): FlashPlan {
  const files: Array<[string, string]> = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const m = /^\s*(0x[0-9a-fA-F]+|\d+)\s+(\S.*?)\s*$/.exec(line);
    if (m) files.push([m[1], m[2]]);
  }
  return fromRecorded(base, path, files);
}

// No record of offsets: recognise the images by content and place them where ESP-IDF does by
// default (bootloader per chip, table at 0x8000, app at its table's factory/ota_0 partition).
function planFromImages(dir: string): FlashPlan {
  let names: string[];
  if (existsSync(dir) && statSync(dir).isFile()) {
    throw new FlashError('plan', `${dir} is a file, not a build folder: give it an address, e.g. 0x10000=${dir}`);
  }
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.bin'));
  } catch (err) {
    throw new FlashError('plan', `cannot read the build folder ${dir}: ${fileProblem(err)}`);
  }
  for (const nested of ['bootloader/bootloader.bin', 'partition_table/partition-table.bin']) if (existsSync(join(dir, nested))) names.push(nested);
  const found = names.map((n) => describeEntry(0, n, readInput(join(dir, n), n)));
  const byRole = (role: EntryRole) => found.filter((e) => e.role === role);
  const apps = byRole('app');
  if (apps.length !== 1) {
    throw new FlashError(
      'plan',
      apps.length === 0
        ? `no app image in ${dir} (looked for flasher_args.json, flash_project_args and *.bin with an app descriptor); give ADDRESS=FILE pairs instead`
        : `several app images in ${dir} (${apps.map((a) => a.name).join(', ')}); give ADDRESS=FILE pairs to say which`,
    );
  }
  const entries: FlashEntry[] = [];
  const [bootloader] = byRole('bootloader');
  if (bootloader) entries.push({ ...bootloader, address: BOOTLOADER_OFFSET[bootloader.chipId ?? 0] ?? 0 });
  const [table] = byRole('partition-table');
  let appOffset = DEFAULT_APP_OFFSET;
  if (table) {
    entries.push({ ...table, address: DEFAULT_PARTITION_TABLE_OFFSET });
    const part = bootAppPartition(parsePartitionTable(table.data, table.name));
    if (!part) throw new FlashError('plan', `${table.name} has no app partition`);
    appOffset = part.offset;
  }
  entries.push({ ...apps[0], address: appOffset });
  return checkPlan({ source: dir, entries });
}

/** An OTA package: its payload, once `verify` has passed it, goes to the app offset. */
export async function planFromOtaPackage(path: string, verify: OtaPayloadStep, appOffset = DEFAULT_APP_OFFSET): Promise<FlashPlan> {
  const { image, description } = await verify(readInput(path, path), path);
  const entry = describeEntry(appOffset, `${basename(path)} payload (${description})`, image);
  if (entry.role !== 'app') throw new FlashError('plan', `the payload of ${path} is not an ESP-IDF app image`);
  return checkPlan({ source: path, entries: [entry] });
}

/** Alignment, overlaps, one chip for all images, apps inside their partitions. */
export function checkPlan(plan: FlashPlan): FlashPlan {
  const entries = [...plan.entries].sort((a, b) => a.address - b.address);
  for (const e of entries) {
    if (e.address % SECTOR) throw new FlashError('plan', `${e.name} at ${hex(e.address)}: flash addresses must be multiples of 4 KiB (0x1000), the erase unit`);
  }
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1], entries[i]];
    if (a.address + a.data.length > b.address) {
      throw new FlashError('plan', `${a.name} (${hex(a.address)}..${hex(a.address + a.data.length)}) overlaps ${b.name} at ${hex(b.address)}`);
    }
  }
  const images = entries.filter((e) => e.chipId !== undefined);
  const chips = new Set(images.map((e) => e.chipName));
  if (chips.size > 1) {
    throw new FlashError('chip-mismatch', `the images are built for different chips: ${images.map((e) => `${e.name} for ${chipLabel(e.chipId!, e.chipName)}`).join(', ')}`);
  }
  const table = entries.find((e) => e.role === 'partition-table');
  const partitions = table ? parsePartitionTable(table.data, table.name) : plan.partitions;
  for (const app of entries.filter((e) => e.role === 'app' && partitions)) {
    const part = partitions?.find((p) => p.offset === app.address);
    if (!part || part.type !== 0) {
      throw new FlashError('plan', `${app.name} at ${hex(app.address)} does not start an app partition of ${table?.name ?? 'the partition table'}`);
    }
    if (app.data.length > part.size) {
      throw new FlashError('too-big', `${app.name} is ${app.data.length} bytes, larger than its partition "${part.label}" (${part.size} bytes)`);
    }
  }
  return { ...plan, entries, partitions };
}

/**
 * `--nvs FILE`: the NVS image `canopy provision` wrote, at the nvs partition of the partition table
 * being flashed. Padded with 0xFF to the whole partition, so no page of the board's old settings
 * survives beside it (NVS would read an old page with a higher sequence number as newer).
 */
export function addNvsImage(plan: FlashPlan, path: string): FlashPlan {
  const tableEntry = plan.entries.find((e) => e.role === 'partition-table');
  const partitions = plan.partitions;
  if (!partitions) {
    throw new FlashError('plan', `--nvs needs the partition table, to find the nvs partition: flash a build folder, or add 0x8000=partition-table.bin`);
  }
  const tableName = tableEntry?.name ?? 'the partition table';
  const part = nvsPartition(partitions);
  if (!part) throw new FlashError('plan', `${tableName} has no nvs partition (type data, subtype nvs) to write ${path} into`);
  const data = readInput(path, path);
  const problem = nvsImageProblem(data);
  if (problem) throw new FlashError('plan', `${path} is not an NVS partition image (${problem}); give the nvs.bin that \`canopy provision\` wrote`);
  if (data.length > part.size) {
    throw new FlashError('too-big', `${path} is ${data.length} bytes, larger than the nvs partition "${part.label}" (${part.size} bytes at ${hex(part.offset)}); provision with --nvs-size ${hex(part.size)}`);
  }
  const padded = new Uint8Array(part.size).fill(0xff);
  padded.set(data);
  const entry: FlashEntry = { address: part.offset, name: `${path} (nvs partition "${part.label}")`, data: padded, role: 'nvs' };
  return checkPlan({ ...plan, entries: [...plan.entries, entry] });
}
