// Compression for FLASH_DEFL_*, done with node:zlib on the thread pool instead of esptool-js's
// writeFlash, which deflates with pako on the main thread (50–170 ms for a 124 KB app in a cold
// process) and then re-inflates with a chunkSize of 1, one callback per output byte, only to learn
// how many bytes each block carries (160–550 ms). esptool.py learns the same with zlib's
// decompressobj; here one streaming inflate does it, also off the main thread.
import { constants, createInflate, deflate } from 'node:zlib';

export interface Deflated {
  compressed: Uint8Array;
  /** Uncompressed bytes carried by each `blockSize` slice of `compressed`, in order. */
  inflatedPerBlock(blockSize: number): Promise<number[]>;
}

/** Level 9, as esptool.py and esptool-js use. Starts at once; await it when the bytes are needed. */
export function deflateImage(data: Uint8Array): Promise<Deflated> {
  return new Promise((resolve, reject) =>
    deflate(data, { level: 9 }, (err, out) => {
      if (err) return reject(err);
      const compressed = new Uint8Array(out.buffer, out.byteOffset, out.length);
      resolve({ compressed, inflatedPerBlock: (blockSize) => inflatedPerBlock(compressed, blockSize) });
    }),
  );
}

async function inflatedPerBlock(compressed: Uint8Array, blockSize: number): Promise<number[]> {
  const inflate = createInflate();
  let out = 0;
  // zlib pushes a write's output before it calls the write's callback, so after each flush `out`
  // counts exactly what the blocks so far decode to.
  inflate.on('data', (chunk: Buffer) => (out += chunk.length));
  const sizes: number[] = [];
  try {
    for (let at = 0; at < compressed.length; at += blockSize) {
      const before = out;
      inflate.write(compressed.subarray(at, at + blockSize));
      await new Promise<void>((resolve) => inflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
      sizes.push(out - before);
    }
  } finally {
    inflate.destroy();
  }
  return sizes;
}
