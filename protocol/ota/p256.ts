// ECDSA P-256 signature verification (FIPS 186-5, SEC 1 §4.1.4) in plain ES2022 BigInt. It exists so
// one verifier runs everywhere the package is checked: the simulator's XS engine has no crypto at
// all, and a host without node:crypto P-256 (none known) would still verify. The device prefers
// Moddable's native `ecdsa`; both sit behind the same SignatureVerifier interface.
//
// Verification only handles public data, so constant-time arithmetic is not needed here.

/** Jacobian point (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = [bigint, bigint, bigint];

// The curve's constants are made on first use, not when the module loads: the firmware preloads
// this module (mcconfig runs it at build time and keeps its heap in flash), and the SDK 8.2.3 linker
// (xsl) aborts with "corrupted size vs. prev_size" when a preloaded heap holds these 256-bit BigInts.
let P: bigint;
let N: bigint;
let B: bigint;
let GX: bigint;
let GY: bigint;
let INFINITY: Jacobian;
let ready = false;

function initCurve(): void {
  if (ready) return;
  P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
  N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
  GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
  GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;
  INFINITY = [1n, 1n, 0n];
  ready = true;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Inverse by the extended Euclidean algorithm; `a` must be non-zero mod m (m prime). */
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

// a = -3 doubling (dbl-2001-b).
function double(p: Jacobian): Jacobian {
  const [x, y, z] = p;
  if (z === 0n || y === 0n) return INFINITY;
  const delta = (z * z) % P;
  const gamma = (y * y) % P;
  const beta = (x * gamma) % P;
  const alpha = (3n * (x - delta) * (x + delta)) % P;
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) * (y + z) - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * ((gamma * gamma) % P), P);
  return [x3, y3, z3];
}

// add-2007-bl, with the doubling and inverse cases handled.
function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const [x1, y1, z1] = p;
  const [x2, y2, z2] = q;
  const z1z1 = (z1 * z1) % P;
  const z2z2 = (z2 * z2) % P;
  const u1 = (x1 * z2z2) % P;
  const u2 = (x2 * z1z1) % P;
  const s1 = (((y1 * z2) % P) * z2z2) % P;
  const s2 = (((y2 * z1) % P) * z1z1) % P;
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1, P);
  const i = (4n * h * h) % P;
  const j = (h * i) % P;
  const r = mod(2n * (s2 - s1), P);
  const v = (u1 * i) % P;
  const x3 = mod(r * r - j - 2n * v, P);
  const y3 = mod(r * (v - x3) - 2n * ((s1 * j) % P), P);
  const z3 = mod(((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h, P);
  return [x3, y3, z3];
}

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/** The affine point of a 65-byte uncompressed SEC 1 key, or undefined when it is not on P-256. */
export function decodeP256Point(key: Uint8Array): [bigint, bigint] | undefined {
  initCurve();
  if (key.length !== 65 || key[0] !== 0x04) return undefined;
  const x = bytesToBig(key.subarray(1, 33));
  const y = bytesToBig(key.subarray(33, 65));
  if (x >= P || y >= P) return undefined;
  if (mod(y * y - (x * x * x - 3n * x + B), P) !== 0n) return undefined;
  return [x, y];
}

/** r and s of a raw r‖s (64-byte) signature when both are in 1..n-1, else undefined. */
export function p256SignatureScalars(signature: Uint8Array): [bigint, bigint] | undefined {
  if (signature.length !== 64) return undefined;
  initCurve();
  const r = bytesToBig(signature.subarray(0, 32));
  const s = bytesToBig(signature.subarray(32, 64));
  if (r === 0n || r >= N || s === 0n || s >= N) return undefined;
  return [r, s];
}

/**
 * Verifies a raw r‖s (64-byte) ECDSA P-256 signature over a SHA-256 `digest` (32 bytes) with an
 * uncompressed public key. False for any malformed input: r or s of 0 or ≥ n, a key off the curve.
 */
export function p256Verify(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if (digest.length !== 32) return false;
  const q = decodeP256Point(publicKey);
  const rs = p256SignatureScalars(signature);
  if (!q || !rs) return false;
  const [r, s] = rs;
  const e = bytesToBig(digest); // 256-bit digest: no truncation for a 256-bit n
  const w = inv(s, N);
  const u1 = (e * w) % N;
  const u2 = (r * w) % N;
  // Shamir's trick: one pass over the bits of u1 and u2 with G + Q precomputed.
  const g: Jacobian = [GX, GY, 1n];
  const qj: Jacobian = [q[0], q[1], 1n];
  const gq = add(g, qj);
  let acc = INFINITY;
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    acc = double(acc);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) acc = add(acc, gq);
    else if (b1) acc = add(acc, g);
    else if (b2) acc = add(acc, qj);
  }
  if (acc[2] === 0n) return false;
  const zinv = inv(acc[2], P);
  const x = (acc[0] * ((zinv * zinv) % P)) % P;
  return x % N === r;
}
