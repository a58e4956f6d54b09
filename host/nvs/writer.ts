// An NVS partition image in ESP-IDF's documented format (nvs_flash "NVS internals", format version 2
// as written by IDF >= 4.0 and its nvs_partition_gen.py), so `canopy provision` can hand each device
// its settings in a partition that is flashed next to one shared firmware image.
//
// Layout facts this file relies on (ESP-IDF components/nvs_flash: nvs_page.hpp, nvs_types.hpp,
// nvs_constants.h):
// - page = 4096 B: header (32) | entry state bitmap (32) | 126 entries of 32 B.
// - header: state u32 @0, sequence number u32 @4, version u8 @8 (0xFE = version 2, multi-page
//   blobs), 0xFF @9..27, CRC32 of bytes 4..27 @28. States: 0xFFFFFFFF empty, 0xFFFFFFFE active,
//   0xFFFFFFFC full.
// - bitmap: two bits per entry, entry i at bits 2i..2i+1 counting from the LSB of byte 0:
//   0b11 empty, 0b10 written, 0b00 erased.
// - entry: ns u8 @0, type u8 @1, span u8 @2, chunk index u8 @3 (0xFF unless blob data),
//   CRC32 @4 over bytes 0..3 and 8..31, key @8 (NUL-padded, at most 15 chars), data 8 B @24.
//   Fixed-size values sit LE in data, padded with 0xFF. Strings and blob chunks: data holds
//   size u16, 0xFFFF, CRC32 of the payload; the payload follows in the next span-1 entries.
//   A blob is BLOB_DATA chunks (chunk index = chunk start + n) and one BLOB_IDX entry holding
//   total size u32, chunk count u8, chunk start u8 (0 = version offset 0), 0xFFFF.
// - namespace names are u8 entries in namespace 0 whose value is the namespace's index (1..254).
// - every CRC here is ESP-IDF's esp_rom_crc32_le(0xFFFFFFFF, ...), which is zlib's
//   crc32(data, 0xFFFFFFFF): the standard CRC-32 continued from a "previous" value of ~0.
// Not written: encrypted NVS (nvs_keys partition, XTS-AES); this image is plaintext.
import { crc32 } from '../../protocol/crc32.ts';
import { utf8Encode } from '../../protocol/utf8.ts';

export const PAGE_SIZE = 4096;
export const ENTRY_SIZE = 32;
export const ENTRIES_PER_PAGE = 126;
const FIRST_ENTRY = 64;
/** The most a string (with its NUL) or one blob chunk can hold: one page less its header entry. */
export const MAX_VAR_DATA = (ENTRIES_PER_PAGE - 1) * ENTRY_SIZE;
/** Chunk indices 0..127 are version offset 0; 128..254 belong to a blob's next version. */
const MAX_CHUNKS = 127;
const MAX_KEY = 15;

export const PAGE_ACTIVE = 0xfffffffe;
export const PAGE_FULL = 0xfffffffc;
export const NVS_VERSION_2 = 0xfe;

export const NvsType = {
  U8: 0x01,
  I8: 0x11,
  U16: 0x02,
  I16: 0x12,
  U32: 0x04,
  I32: 0x14,
  STR: 0x21,
  BLOB_DATA: 0x42,
  BLOB_IDX: 0x48,
} as const;

export type NvsValue =
  | { type: 'u8'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'str'; value: string }
  | { type: 'blob'; value: Uint8Array };

export interface NvsItem {
  namespace: string;
  key: string;
  value: NvsValue;
}

export class NvsError extends Error {
  override name = 'NvsError';
}

/** ESP-IDF's NVS checksum (see the header comment). */
export function nvsCrc(bytes: Uint8Array, previous = 0xffffffff): number {
  return crc32(bytes, previous);
}

function checkName(what: string, name: string): Uint8Array {
  const bytes = utf8Encode(name);
  if (bytes.length < 1 || bytes.length > MAX_KEY || !/^[\x21-\x7e]+$/.test(name)) {
    throw new NvsError(`NVS ${what} "${name}" must be 1..${MAX_KEY} printable ASCII characters`);
  }
  return bytes;
}

class PageBuilder {
  readonly bytes = new Uint8Array(PAGE_SIZE).fill(0xff);
  next = 0;
  constructor(readonly seq: number) {}

  get free(): number {
    return ENTRIES_PER_PAGE - this.next;
  }

  /** Writes one entry (header) and `payload` into the entries after it, marking all of them written. */
  put(ns: number, type: number, chunkIndex: number, key: Uint8Array, data: Uint8Array, payload?: Uint8Array): void {
    const span = 1 + (payload ? Math.ceil(payload.length / ENTRY_SIZE) : 0);
    if (span > this.free) throw new Error(`internal: ${span} entries do not fit in ${this.free}`);
    const e = new Uint8Array(ENTRY_SIZE).fill(0xff);
    e[0] = ns;
    e[1] = type;
    e[2] = span;
    e[3] = chunkIndex;
    e.fill(0, 8, 24);
    e.set(key, 8);
    e.set(data, 24);
    const crc = nvsCrc(e.subarray(8, 32), nvsCrc(e.subarray(0, 4)));
    new DataView(e.buffer).setUint32(4, crc, true);
    const at = FIRST_ENTRY + this.next * ENTRY_SIZE;
    this.bytes.set(e, at);
    if (payload) this.bytes.set(payload, at + ENTRY_SIZE);
    for (let i = 0; i < span; i++) this.markWritten(this.next + i);
    this.next += span;
  }

  private markWritten(entry: number): void {
    // 0b11 -> 0b10: clear the low bit of the entry's pair.
    this.bytes[32 + (entry >> 2)] &= ~(1 << ((entry & 3) * 2));
  }

  finish(state: number): Uint8Array {
    const v = new DataView(this.bytes.buffer);
    v.setUint32(0, state, true);
    v.setUint32(4, this.seq, true);
    this.bytes[8] = NVS_VERSION_2;
    v.setUint32(28, nvsCrc(this.bytes.subarray(4, 28)), true);
    return this.bytes;
  }
}

/** A fixed-size value's 8 data bytes: written little-endian from byte 0, the rest left 0xFF. */
function fixed(write: (v: DataView) => void): Uint8Array {
  const d = new Uint8Array(8).fill(0xff);
  write(new DataView(d.buffer));
  return d;
}

function varLength(payload: Uint8Array): Uint8Array {
  const d = new Uint8Array(8).fill(0xff);
  const v = new DataView(d.buffer);
  v.setUint16(0, payload.length, true);
  v.setUint32(4, nvsCrc(payload), true);
  return d;
}

/** Items in the order given, packed into pages; the pages after the last written one stay erased (0xFF). */
export function writeNvsImage(items: NvsItem[], size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 3 * PAGE_SIZE || size % PAGE_SIZE !== 0) {
    throw new NvsError(`NVS partition size must be a multiple of ${PAGE_SIZE} and at least ${3 * PAGE_SIZE} bytes, got ${size}`);
  }
  const pageCount = size / PAGE_SIZE;
  const pages: PageBuilder[] = [new PageBuilder(0)];
  const page = () => pages[pages.length - 1];
  // Reserve room for `entries` on the current page, or start the next one.
  const room = (entries: number, what: string): PageBuilder => {
    if (page().free >= entries) return page();
    // NVS needs one erased page to move entries into when it collects garbage; without it
    // nvs_flash_init fails with NO_FREE_PAGES and Moddable erases the partition, settings and all.
    if (pages.length + 1 > pageCount - 1) {
      throw new NvsError(`${what} does not fit: the NVS partition of ${size} bytes (${pageCount} pages, one kept free for NVS) is full`);
    }
    pages.push(new PageBuilder(pages.length));
    return page();
  };

  const namespaces = new Map<string, number>();
  const seen = new Set<string>();
  for (const item of items) {
    const keyBytes = checkName('key', item.key);
    const what = `${item.namespace}/${item.key}`;
    if (seen.has(what)) throw new NvsError(`NVS key ${what} is given twice`);
    seen.add(what);
    let ns = namespaces.get(item.namespace);
    if (ns === undefined) {
      const nsBytes = checkName('namespace', item.namespace);
      ns = namespaces.size + 1;
      if (ns > 254) throw new NvsError('NVS holds at most 254 namespaces');
      namespaces.set(item.namespace, ns);
      const index = ns;
      room(1, `namespace ${item.namespace}`).put(0, NvsType.U8, 0xff, nsBytes, fixed((v) => v.setUint8(0, index)));
    }
    const { value } = item;
    switch (value.type) {
      case 'u8':
        if (!Number.isInteger(value.value) || value.value < 0 || value.value > 255) throw new NvsError(`${what}: u8 must be 0..255, got ${value.value}`);
        room(1, what).put(ns, NvsType.U8, 0xff, keyBytes, fixed((v) => v.setUint8(0, value.value)));
        break;
      case 'i32':
        if (!Number.isInteger(value.value) || value.value < -0x80000000 || value.value > 0x7fffffff) {
          throw new NvsError(`${what}: i32 must be a whole number from -2147483648 to 2147483647, got ${value.value}`);
        }
        room(1, what).put(ns, NvsType.I32, 0xff, keyBytes, fixed((v) => v.setInt32(0, value.value, true)));
        break;
      case 'str': {
        const utf8 = utf8Encode(value.value);
        if (utf8.includes(0)) throw new NvsError(`${what}: a string cannot hold a NUL character`);
        const payload = new Uint8Array(utf8.length + 1);
        payload.set(utf8);
        // A string never spans pages (nvs_set_str's limit is the same 4000 bytes).
        if (payload.length > MAX_VAR_DATA) {
          throw new NvsError(`${what}: a string of ${payload.length} bytes (with its NUL) is larger than one NVS page holds (${MAX_VAR_DATA}); store it as a blob`);
        }
        room(1 + Math.ceil(payload.length / ENTRY_SIZE), what).put(ns, NvsType.STR, 0xff, keyBytes, varLength(payload), payload);
        break;
      }
      case 'blob': {
        const data = value.value;
        let offset = 0;
        let chunk = 0;
        do {
          // Continue on this page while at least one data entry is free, as IDF does.
          const p = page().free >= 2 ? page() : room(ENTRIES_PER_PAGE, what);
          const take = Math.min(data.length - offset, (p.free - 1) * ENTRY_SIZE);
          if (chunk === MAX_CHUNKS) throw new NvsError(`${what}: a blob of ${data.length} bytes needs more than ${MAX_CHUNKS} chunks`);
          const part = data.subarray(offset, offset + take);
          p.put(ns, NvsType.BLOB_DATA, chunk, keyBytes, varLength(part), part);
          offset += take;
          chunk++;
        } while (offset < data.length);
        const count = chunk;
        room(1, what).put(ns, NvsType.BLOB_IDX, 0xff, keyBytes, fixed((v) => {
          v.setUint32(0, data.length, true);
          v.setUint8(4, count);
          v.setUint8(5, 0);
        }));
        break;
      }
    }
  }

  const image = new Uint8Array(size).fill(0xff);
  if (items.length === 0) return image; // an erased partition: NVS formats it on first boot
  pages.forEach((p, i) => image.set(p.finish(i === pages.length - 1 ? PAGE_ACTIVE : PAGE_FULL), i * PAGE_SIZE));
  return image;
}

/** Parses a size flag: decimal, 0x-hex, or with a K suffix (24K). */
export function parseNvsSize(text: string): number {
  const m = /^(0x[0-9a-f]+|\d+)(k)?$/i.exec(text.trim());
  if (!m) throw new NvsError(`NVS size must be bytes (24576), hex (0x6000) or KiB (24K), got "${text}"`);
  return Number(m[1]) * (m[2] ? 1024 : 1);
}

/**
 * Why `bytes` is not an NVS partition image (as writeNvsImage makes and `canopy provision` writes),
 * or undefined when it is one: whole pages, the first one either erased or an active/full page of
 * format version 2 whose header CRC holds. Enough to refuse the wrong file before it is flashed
 * over a board's settings; the device's NVS checks every entry itself.
 */
export function nvsImageProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'it is empty';
  if (bytes.length % PAGE_SIZE !== 0) return `its size, ${bytes.length} bytes, is not a whole number of ${PAGE_SIZE}-byte NVS pages`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, PAGE_SIZE);
  if (bytes.subarray(0, PAGE_SIZE).every((b) => b === 0xff)) return undefined; // erased: NVS formats it at boot
  const state = v.getUint32(0, true);
  if (state !== PAGE_ACTIVE && state !== PAGE_FULL) return `its first page has no NVS page state (0x${state.toString(16).padStart(8, '0')}, expected active 0xfffffffe or full 0xfffffffc)`;
  if (bytes[8] !== NVS_VERSION_2) return `its first page is NVS format version 0x${bytes[8].toString(16)}, not 2 (0xfe)`;
  if (v.getUint32(28, true) !== nvsCrc(bytes.subarray(4, 28))) return 'the CRC of its first page header does not match';
  return undefined;
}
