// ESP-IDF partition table (esp_partition.h / gen_esp32part.py): 32-byte entries, magic AA 50,
// type, subtype, offset u32, size u32, label char[16], flags u32; an optional MD5 entry (EB EB,
// 14 x FF, MD5 of the entries before it); 0xFF fill ends the table. Read here so the flash plan
// can put an app at the start of its app partition and refuse one that does not fit.

import { createHash } from 'node:crypto';
import { hex, u32 } from '../../protocol/ota/le.ts';
import { FlashError } from './errors.ts';

export const PARTITION_TABLE_LENGTH = 0xc00;
const ENTRY = 32;

export interface Partition {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
}

export const APP_TYPE = 0x00;
export const FACTORY_SUBTYPE = 0x00;
export const OTA_0_SUBTYPE = 0x10;
export const DATA_TYPE = 0x01;
export const NVS_SUBTYPE = 0x02;

export function isPartitionTable(bytes: Uint8Array): boolean {
  return bytes.length >= ENTRY && bytes[0] === 0xaa && bytes[1] === 0x50;
}

export function parsePartitionTable(bytes: Uint8Array, name = 'partition table'): Partition[] {
  const partitions: Partition[] = [];
  for (let at = 0; at + ENTRY <= Math.min(bytes.length, PARTITION_TABLE_LENGTH); at += ENTRY) {
    const e = bytes.subarray(at, at + ENTRY);
    if (e[0] === 0xff && e[1] === 0xff) return partitions;
    if (e[0] === 0xeb && e[1] === 0xeb) {
      const digest = createHash('md5').update(bytes.subarray(0, at)).digest();
      if (!digest.equals(e.subarray(16))) throw new FlashError('plan', `${name}: MD5 entry at ${hex(at)} does not match the entries before it`);
      continue;
    }
    if (e[0] !== 0xaa || e[1] !== 0x50) throw new FlashError('plan', `${name}: entry at ${hex(at)} has no AA 50 magic`);
    const label = new TextDecoder().decode(e.subarray(12, 28)).replace(/\0.*$/s, '');
    partitions.push({ label, type: e[2], subtype: e[3], offset: u32(e, 4), size: u32(e, 8) });
  }
  return partitions;
}

/** The partition a freshly flashed app belongs in: factory if there is one, else ota_0. */
export function bootAppPartition(partitions: Partition[]): Partition | undefined {
  const apps = partitions.filter((p) => p.type === APP_TYPE);
  return apps.find((p) => p.subtype === FACTORY_SUBTYPE) ?? apps.find((p) => p.subtype === OTA_0_SUBTYPE) ?? apps[0];
}

/** Where the device's settings live: the data/nvs partition labelled "nvs" (the one nvs_flash_init opens), else the first data/nvs one. */
export function nvsPartition(partitions: Partition[]): Partition | undefined {
  const all = partitions.filter((p) => p.type === DATA_TYPE && p.subtype === NVS_SUBTYPE);
  return all.find((p) => p.label === 'nvs') ?? all[0];
}
