import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deflateImage } from '../host/flash/deflate.ts';

const app = new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../shared/fixtures/esp-idf/esp32/hello_world.bin')));

/** What each block decodes to, the slow way: inflate every prefix. */
function prefixSizes(compressed: Uint8Array, blockSize: number): number[] {
  const sizes: number[] = [];
  let before = 0;
  for (let at = 0; at < compressed.length; at += blockSize) {
    const n = inflateSync(compressed.subarray(0, at + blockSize), { finishFlush: constants.Z_SYNC_FLUSH }).length;
    sizes.push(n - before);
    before = n;
  }
  return sizes;
}

describe('flash image compression', () => {
  it('inflates back to the image, and counts exactly what each block carries (the write timeouts depend on it)', async () => {
    for (const blockSize of [0x4000, 0x400, 1000]) {
      const d = await deflateImage(app);
      expect(Buffer.from(inflateSync(d.compressed)).equals(Buffer.from(app))).toBe(true);
      const sizes = await d.inflatedPerBlock(blockSize);
      expect(sizes).toEqual(prefixSizes(d.compressed, blockSize));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(app.length);
    }
  });
});
