// An NVS partition reader for the tests only, written from ESP-IDF's "NVS internals" documentation
// (and checked on part_old_blob_format.bin, a page ESP-IDF ships), not from host/nvs/writer.ts:
// it shares no code or constants with the writer, uses node:zlib's CRC-32, and checks what the
// IDF loader checks (header CRC, entry CRCs, span vs size, payload CRCs, blob chunk accounting),
// so a writer bug shows up as a refusal here instead of agreeing with itself.
import { crc32 } from 'node:zlib';

export interface RawEntry {
  page: number;
  index: number;
  ns: number;
  type: number;
  span: number;
  chunkIndex: number;
  key: string;
  crcOk: boolean;
  /** The 8 data bytes of the header entry. */
  data: Buffer;
  /** Strings and blob chunks: the payload after the header entry. */
  payload?: Buffer;
}

export interface RawPage {
  index: number;
  state: 'empty' | 'active' | 'full' | 'freeing' | 'corrupt' | 'other';
  stateWord: number;
  seq: number;
  version: number;
  headerCrcOk: boolean;
  /** Per entry: 'empty' | 'written' | 'erased' | 'illegal', from the bitmap. */
  entryStates: string[];
  entries: RawEntry[];
}

export type ReadValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32'; value: number }
  | { type: 'str'; value: string }
  | { type: 'blob'; value: Buffer; chunks: number }
  | { type: 'blob-v1'; value: Buffer };

const idfCrc = (b: Buffer) => crc32(b, 0xffffffff) >>> 0;

const STATES: Record<number, RawPage['state']> = {
  0xffffffff: 'empty',
  0xfffffffe: 'active',
  0xfffffffc: 'full',
  0xfffffff8: 'freeing',
  0xfffffff0: 'corrupt',
};

export function readPages(image: Uint8Array): RawPage[] {
  const buf = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (buf.length % 4096 !== 0) throw new Error(`image of ${buf.length} bytes is not whole 4096-byte pages`);
  const pages: RawPage[] = [];
  for (let p = 0; p * 4096 < buf.length; p++) {
    const page = buf.subarray(p * 4096, (p + 1) * 4096);
    const stateWord = page.readUInt32LE(0);
    const entryStates: string[] = [];
    for (let i = 0; i < 126; i++) {
      const bits = (page[32 + Math.floor(i / 4)] >> ((i % 4) * 2)) & 3;
      entryStates.push(['erased', 'illegal', 'written', 'empty'][bits]);
    }
    const rp: RawPage = {
      index: p,
      state: STATES[stateWord] ?? 'other',
      stateWord,
      seq: page.readUInt32LE(4),
      version: page[8],
      headerCrcOk: page.readUInt32LE(28) === idfCrc(page.subarray(4, 28)),
      entryStates,
      entries: [],
    };
    pages.push(rp);
    if (rp.state === 'empty') continue;
    for (let i = 0; i < 126; ) {
      if (entryStates[i] !== 'written') {
        i++;
        continue;
      }
      const e = page.subarray(64 + i * 32, 64 + (i + 1) * 32);
      const keyEnd = e.indexOf(0, 8);
      const entry: RawEntry = {
        page: p,
        index: i,
        ns: e[0],
        type: e[1],
        span: e[2],
        chunkIndex: e[3],
        key: e.subarray(8, keyEnd < 0 || keyEnd > 24 ? 24 : keyEnd).toString('latin1'),
        crcOk: e.readUInt32LE(4) === idfCrc(Buffer.concat([e.subarray(0, 4), e.subarray(8, 32)])),
        data: Buffer.from(e.subarray(24, 32)),
      };
      if (entry.type === 0x21 || entry.type === 0x41 || entry.type === 0x42) {
        const size = e.readUInt16LE(24);
        if (entry.span !== 1 + Math.ceil(size / 32)) throw new Error(`page ${p} entry ${i} (${entry.key}): span ${entry.span} does not match size ${size}`);
        if (i + entry.span > 126) throw new Error(`page ${p} entry ${i} (${entry.key}): span runs off the page`);
        for (let j = 1; j < entry.span; j++) {
          if (entryStates[i + j] !== 'written') throw new Error(`page ${p} entry ${i + j}: data entry of ${entry.key} not marked written`);
        }
        entry.payload = Buffer.from(page.subarray(64 + (i + 1) * 32, 64 + (i + 1) * 32 + size));
        if (e.readUInt32LE(28) !== idfCrc(entry.payload)) throw new Error(`page ${p} entry ${i} (${entry.key}): payload CRC mismatch`);
      }
      rp.entries.push(entry);
      i += Math.max(1, entry.span);
    }
  }
  return pages;
}

/** Every value by namespace name, then key, as nvs_get_* would see it. Throws on a bad CRC. */
export function readNvs(image: Uint8Array): Map<string, Map<string, ReadValue>> {
  const pages = readPages(image).filter((p) => p.state !== 'empty');
  const entries: RawEntry[] = [];
  for (const p of pages.sort((a, b) => a.seq - b.seq)) {
    if (!p.headerCrcOk) throw new Error(`page ${p.index}: header CRC mismatch`);
    for (const e of p.entries) {
      if (!e.crcOk) throw new Error(`page ${p.index} entry ${e.index} (${e.key}): entry CRC mismatch`);
      entries.push(e);
    }
  }
  const nsNames = new Map<number, string>();
  for (const e of entries) if (e.ns === 0 && e.type === 0x01) nsNames.set(e.data[0], e.key);
  const out = new Map<string, Map<string, ReadValue>>();
  const put = (ns: number, key: string, v: ReadValue) => {
    const name = nsNames.get(ns);
    if (name === undefined) throw new Error(`key ${key} is in namespace index ${ns}, which has no name entry`);
    if (!out.has(name)) out.set(name, new Map());
    out.get(name)!.set(key, v);
  };
  const ints: Record<number, [ReadValue['type'], (b: Buffer) => number]> = {
    0x01: ['u8', (b) => b.readUInt8(0)],
    0x11: ['i8', (b) => b.readInt8(0)],
    0x02: ['u16', (b) => b.readUInt16LE(0)],
    0x12: ['i16', (b) => b.readInt16LE(0)],
    0x04: ['u32', (b) => b.readUInt32LE(0)],
    0x14: ['i32', (b) => b.readInt32LE(0)],
  };
  for (const e of entries) {
    if (e.ns === 0) continue;
    const int = ints[e.type];
    if (int) put(e.ns, e.key, { type: int[0], value: int[1](e.data) } as ReadValue);
    else if (e.type === 0x21) {
      const p = e.payload!;
      if (p[p.length - 1] !== 0) throw new Error(`string ${e.key} is not NUL-terminated`);
      put(e.ns, e.key, { type: 'str', value: p.subarray(0, p.length - 1).toString('utf8') });
    } else if (e.type === 0x41) put(e.ns, e.key, { type: 'blob-v1', value: e.payload! });
    else if (e.type === 0x48) {
      const size = e.data.readUInt32LE(0);
      const count = e.data[4];
      const start = e.data[5];
      const parts: Buffer[] = [];
      for (let c = start; c < start + count; c++) {
        const chunk = entries.filter((x) => x.type === 0x42 && x.ns === e.ns && x.key === e.key && x.chunkIndex === c);
        if (chunk.length !== 1) throw new Error(`blob ${e.key}: chunk ${c} found ${chunk.length} times`);
        parts.push(chunk[0].payload!);
      }
      const value = Buffer.concat(parts);
      if (value.length !== size) throw new Error(`blob ${e.key}: chunks hold ${value.length} bytes, index says ${size}`);
      put(e.ns, e.key, { type: 'blob', value, chunks: count });
    } else if (e.type !== 0x42) throw new Error(`entry ${e.key}: unknown type 0x${e.type.toString(16)}`);
  }
  return out;
}
