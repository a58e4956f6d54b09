// CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320): the one used by zlib, ESP-IDF and Secure
// Boot V2 signature blocks. Table built lazily so XS only pays for it when a CRC is needed.
let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 of `bytes`, continuing from `previous` (pass a prior result to checksum in pieces). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const t = (table ??= makeTable());
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
