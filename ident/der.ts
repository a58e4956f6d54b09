// The few DER encodings an X.509 certificate needs (X.690). node:crypto signs and verifies, and
// parses certificates (X509Certificate), but cannot build one; this is the part it lacks.
// Encoding only: everything issued here is read back by node:crypto (and OpenSSL in the tests).

export type Der = Uint8Array;

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function tlv(tag: number, ...content: Der[]): Der {
  const body = Buffer.concat(content);
  return new Uint8Array([tag, ...length(body.length), ...body]);
}

export const seq = (...items: Der[]) => tlv(0x30, ...items);
export const set = (...items: Der[]) => tlv(0x31, ...items);
export const nul = () => tlv(0x05);
export const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
export const octets = (b: Uint8Array) => tlv(0x04, b);
export const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
/** [n] EXPLICIT: a constructed context tag around a whole encoding. */
export const explicit = (n: number, inner: Der) => tlv(0xa0 | n, inner);
/** [n] IMPLICIT for a primitive value (SAN entries, key identifiers). */
export const implicit = (n: number, content: Uint8Array) => tlv(0x80 | n, content);

/** A non-negative INTEGER from its big-endian magnitude (a leading 0 added when the top bit is set). */
export function uint(magnitude: Uint8Array | number): Der {
  let b = typeof magnitude === 'number' ? bigEndian(magnitude) : magnitude;
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  return tlv(0x02, b[0] & 0x80 ? new Uint8Array([0, ...b]) : b);
}

function bigEndian(n: number): Uint8Array {
  const out: number[] = [];
  do {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  return new Uint8Array(out);
}

export function oid(dotted: string): Der {
  const parts = dotted.split('.').map(Number);
  const body = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const sept: number[] = [];
    for (let v = p; ; v = Math.floor(v / 128)) {
      sept.unshift((v & 0x7f) | (sept.length ? 0x80 : 0));
      if (v < 128) break;
    }
    body.push(...sept);
  }
  return tlv(0x06, new Uint8Array(body));
}

/** BIT STRING of whole bytes (keys, signatures). */
export const bits = (b: Uint8Array) => tlv(0x03, new Uint8Array([0]), b);

/** A named-bit BIT STRING (keyUsage): bit 0 is the MSB of the first byte; DER drops trailing zero bits. */
export function namedBits(set: number[]): Der {
  const top = Math.max(...set);
  const bytes = new Uint8Array(Math.floor(top / 8) + 1);
  for (const n of set) bytes[n >> 3] |= 0x80 >> (n & 7);
  const unused = 7 - (top & 7);
  return tlv(0x03, new Uint8Array([unused]), bytes);
}

/** UTCTime through 2049, GeneralizedTime after, as RFC 5280 4.1.2.5 requires. */
export function time(d: Date): Der {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const y = d.getUTCFullYear();
  return y < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
