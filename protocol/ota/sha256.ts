// Streaming SHA-256 (FIPS 180-4) in plain ES2022. The device swaps in Moddable's native `crypt`
// Digest behind this same shape (update/digest), so keep the surface to exactly those two calls:
// no clone, no hex helpers that the native object would lack. (Hash below lets an implementation
// that has them, node:crypto on the host, offer a copy and a one-shot; callers fall back without.)

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 {
  private readonly h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  private readonly w = new Uint32Array(64);
  private readonly block = new Uint8Array(64);
  private used = 0; // bytes waiting in `block`
  // Total length split in two so images past 2^32 bits (512 MiB) still pad correctly; a single
  // double would also do, but this keeps the arithmetic in 32-bit integers for XS.
  private bytesLow = 0;
  private bytesHigh = 0;
  private done = false;

  update(bytes: Uint8Array): this {
    if (this.done) throw new Error('Sha256.update after digest');
    const n = bytes.length;
    const low = this.bytesLow + n;
    this.bytesHigh += Math.floor(low / 0x100000000);
    this.bytesLow = low >>> 0;
    let i = 0;
    if (this.used > 0) {
      const take = Math.min(64 - this.used, n);
      this.block.set(bytes.subarray(0, take), this.used);
      this.used += take;
      i = take;
      if (this.used < 64) return this;
      this.compress(this.block, 0);
      this.used = 0;
    }
    for (; i + 64 <= n; i += 64) this.compress(bytes, i);
    if (i < n) {
      this.block.set(bytes.subarray(i), 0);
      this.used = n - i;
    }
    return this;
  }

  digest(): Uint8Array {
    if (this.done) throw new Error('Sha256.digest called twice');
    this.done = true;
    const b = this.block;
    b[this.used++] = 0x80;
    if (this.used > 56) {
      b.fill(0, this.used);
      this.compress(b, 0);
      this.used = 0;
    }
    b.fill(0, this.used, 56);
    const bitsHigh = (this.bytesHigh * 8 + Math.floor(this.bytesLow / 0x20000000)) >>> 0;
    const bitsLow = (this.bytesLow << 3) >>> 0;
    writeU32(b, 56, bitsHigh);
    writeU32(b, 60, bitsLow);
    this.compress(b, 0);
    const out = new Uint8Array(32);
    for (let j = 0; j < 8; j++) writeU32(out, j * 4, this.h[j]);
    return out;
  }

  private compress(p: Uint8Array, at: number): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) {
      const o = at + t * 4;
      w[t] = (p[o] << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15];
      const y = w[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    const h = this.h;
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[t] + w[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

/** One-shot SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Sha256().update(bytes).digest();
}

function writeU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}

/** A SHA-256 in progress: this class, the device's native Digest, or node:crypto's on the host. */
export interface Hash {
  update(bytes: Uint8Array): unknown;
  digest(): Uint8Array;
  /** A copy of the state so far, where the implementation has one: one pass then serves two digests of nested prefixes. */
  copy?(): Hash;
}

/**
 * Makes a fresh Hash; `once`, where present, digests one whole buffer faster than update + digest;
 * `into` writes that digest into out[at, at + 32) without a new array per digest (a chunk table
 * is hundreds of them, and on the host the allocation cost more than an eighth of the hashing).
 */
export type HashFactory = (() => Hash) & {
  once?: (bytes: Uint8Array) => Uint8Array;
  into?: (bytes: Uint8Array, out: Uint8Array, at: number) => void;
};
