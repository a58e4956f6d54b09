// host/nvs/writer.ts against ESP-IDF's documented NVS format, through the independent reader in
// test/support/nvs-reader.ts (itself checked first on a page ESP-IDF ships).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { NvsError, parseNvsSize, writeNvsImage, type NvsItem } from '../host/nvs/writer.ts';
import { readNvs, readPages } from './support/nvs-reader.ts';

const item = (key: string, value: NvsItem['value'], namespace = 'canopy'): NvsItem => ({ namespace, key, value });

describe('the independent NVS reader', () => {
  it("reads ESP-IDF's own page: header and entry CRCs as IDF computes them, namespace, ints and strings", () => {
    const image = new Uint8Array(readFileSync(new URL('./fixtures/nvs/part_old_blob_format.bin', import.meta.url)));
    const [page] = readPages(image);
    expect(page).toMatchObject({ state: 'active', seq: 0, version: 0xff, headerCrcOk: true });
    expect(page.entries.every((e) => e.crcOk)).toBe(true);
    const ns = readNvs(image).get('dummyNamespace')!;
    expect(ns.get('dummyU8Key')).toEqual({ type: 'u8', value: 127 });
    expect(ns.get('dummyI32Key')).toEqual({ type: 'i32', value: -2147483648 });
    expect(ns.get('dummyU16Key')).toEqual({ type: 'u16', value: 32768 });
    expect(ns.get('stringFileKey')).toEqual({ type: 'str', value: 'abcdefghijklmnopqrstuvwxyz' });
    expect(ns.get('dummyHex2BinKey')).toMatchObject({ type: 'blob-v1', value: Buffer.from('010203abcdef', 'hex') });
  });

  it('refuses a page whose entry CRC does not match', () => {
    const image = writeNvsImage([item('deviceId', { type: 'str', value: 'dev-1' })], 0x3000);
    image[64 + 32 + 10] ^= 1; // a key byte of the second entry (the first is the namespace)
    expect(() => readNvs(image)).toThrow(/entry CRC mismatch/);
  });
});

describe('NVS writer', () => {
  it('writes a version-2 page header with its CRC over bytes 4..27, active on the last page, the rest erased', () => {
    const image = writeNvsImage([item('deviceId', { type: 'str', value: 'dev-1' })], 0x6000);
    expect(image.length).toBe(0x6000);
    const pages = readPages(image);
    expect(pages[0]).toMatchObject({ state: 'active', stateWord: 0xfffffffe, seq: 0, version: 0xfe, headerCrcOk: true });
    const h = Buffer.from(image.subarray(0, 32));
    expect(h.subarray(9, 28).every((b) => b === 0xff)).toBe(true);
    expect(h.readUInt32LE(28)).toBe(crc32(h.subarray(4, 28), 0xffffffff) >>> 0);
    expect(pages.slice(1).every((p) => p.state === 'empty')).toBe(true);
    expect(image.subarray(4096).every((b) => b === 0xff)).toBe(true);
  });

  it('marks written entries 0b10 in the bitmap, a string and its data entries included, and the rest 0b11', () => {
    const image = writeNvsImage([item('broker', { type: 'str', value: 'mqtts://broker.example:8883' })], 0x3000);
    const [page] = readPages(image);
    // namespace (1) + string header (1) + 28 bytes with NUL -> 1 data entry
    expect(page.entryStates.slice(0, 3)).toEqual(['written', 'written', 'written']);
    expect(page.entryStates.slice(3).every((s) => s === 'empty')).toBe(true);
    expect(image[32]).toBe(0b11_10_10_10);
  });

  it('round-trips a string and an integer through the reader, in the namespace the firmware opens', () => {
    const image = writeNvsImage(
      [item('deviceId', { type: 'str', value: 'greenhouse-7' }), item('intervalMs', { type: 'i32', value: 30_000 }), item('neg', { type: 'i32', value: -5 })],
      0x6000,
    );
    const ns = readNvs(image).get('canopy')!;
    expect(ns.get('deviceId')).toEqual({ type: 'str', value: 'greenhouse-7' });
    expect(ns.get('intervalMs')).toEqual({ type: 'i32', value: 30_000 });
    expect(ns.get('neg')).toEqual({ type: 'i32', value: -5 });
    const [page] = readPages(image);
    const ns0 = page.entries[0];
    expect(ns0).toMatchObject({ ns: 0, type: 0x01, span: 1, chunkIndex: 0xff, key: 'canopy', crcOk: true });
    expect(ns0.data[0]).toBe(1);
    const int = page.entries.find((e) => e.key === 'intervalMs')!;
    expect(int).toMatchObject({ ns: 1, type: 0x14, span: 1, chunkIndex: 0xff, crcOk: true });
    expect([...int.data.subarray(4)]).toEqual([0xff, 0xff, 0xff, 0xff]); // padded with 0xFF, not zero
  });

  it('gives each namespace its own index entry', () => {
    const image = writeNvsImage([item('a', { type: 'u8', value: 1 }, 'one'), item('a', { type: 'u8', value: 2 }, 'two')], 0x3000);
    const nvs = readNvs(image);
    expect(nvs.get('one')!.get('a')).toEqual({ type: 'u8', value: 1 });
    expect(nvs.get('two')!.get('a')).toEqual({ type: 'u8', value: 2 });
  });

  it('splits a blob larger than a page into BLOB_DATA chunks across pages, with a BLOB_IDX naming them', () => {
    const blob = Buffer.alloc(9000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + 3) & 0xff;
    const image = writeNvsImage([item('deviceId', { type: 'str', value: 'x' }), item('bigBlob', { type: 'blob', value: blob })], 0x6000);
    const pages = readPages(image);
    const chunks = pages.flatMap((p) => p.entries).filter((e) => e.type === 0x42);
    expect(chunks.map((c) => [c.page, c.chunkIndex])).toEqual([[0, 0], [1, 1], [2, 2]]);
    expect(chunks.every((c) => c.crcOk && c.payload!.length <= 4000)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.payload!.length, 0)).toBe(9000);
    const index = pages.flatMap((p) => p.entries).find((e) => e.type === 0x48)!;
    expect(index).toMatchObject({ span: 1, chunkIndex: 0xff, crcOk: true });
    expect(index.data.readUInt32LE(0)).toBe(9000);
    expect(index.data[4]).toBe(3); // chunk count
    expect(index.data[5]).toBe(0); // chunk start: version offset 0
    expect(pages.map((p) => p.state)).toEqual(['full', 'full', 'active', 'empty', 'empty', 'empty']);
    expect(pages.slice(0, 3).map((p) => p.seq)).toEqual([0, 1, 2]);
    expect(readNvs(image).get('canopy')!.get('bigBlob')).toEqual({ type: 'blob', value: blob, chunks: 3 });
  });

  it('moves a string that does not fit the rest of a page to the next page whole', () => {
    const image = writeNvsImage(
      [item('filler', { type: 'str', value: 'f'.repeat(3500) }), item('second', { type: 'str', value: 's'.repeat(1000) })],
      0x4000,
    );
    const pages = readPages(image);
    expect(pages[1].entries.map((e) => e.key)).toEqual(['second']);
    expect(readNvs(image).get('canopy')!.get('second')).toEqual({ type: 'str', value: 's'.repeat(1000) });
  });

  it('refuses a string too large for one page, and says to use a blob', () => {
    expect(() => writeNvsImage([item('otaTrust', { type: 'str', value: 'x'.repeat(4000) })], 0x6000)).toThrow(
      new NvsError('canopy/otaTrust: a string of 4001 bytes (with its NUL) is larger than one NVS page holds (4000); store it as a blob'),
    );
    expect(() => writeNvsImage([item('ok', { type: 'str', value: 'x'.repeat(3999) })], 0x6000)).not.toThrow();
  });

  it('refuses data that would leave NVS no free page', () => {
    expect(() => writeNvsImage([item('big', { type: 'blob', value: new Uint8Array(8500) })], 0x3000)).toThrow(
      /canopy\/big does not fit: the NVS partition of 12288 bytes \(3 pages, one kept free for NVS\) is full/,
    );
  });

  it('refuses bad keys, namespaces, integers and sizes with the name of what is wrong', () => {
    expect(() => writeNvsImage([item('a-key-that-is-too-long', { type: 'u8', value: 1 })], 0x3000)).toThrow(/key "a-key-that-is-too-long" must be 1..15/);
    expect(() => writeNvsImage([item('k', { type: 'u8', value: 1 }, '')], 0x3000)).toThrow(/namespace "" must be/);
    expect(() => writeNvsImage([item('k', { type: 'i32', value: 2 ** 31 })], 0x3000)).toThrow(/canopy\/k: i32 must be/);
    expect(() => writeNvsImage([item('k', { type: 'u8', value: 1 }), item('k', { type: 'u8', value: 2 })], 0x3000)).toThrow(/given twice/);
    expect(() => writeNvsImage([], 0x2000)).toThrow(/at least 12288/);
    expect(parseNvsSize('0x6000')).toBe(0x6000);
    expect(parseNvsSize('24K')).toBe(24576);
    expect(() => parseNvsSize('big')).toThrow(/NVS size must be/);
  });
});
