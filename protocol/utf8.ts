// Strict UTF-8 for MQTT strings and CBOR text. Our own rather than TextEncoder/TextDecoder:
// those are not globals on every Moddable target, and MQTT needs rules they do not apply
// (U+0000 is forbidden in MQTT strings, MQTT-1.5.3-2).

export class Utf8Error extends Error {
  override name = 'Utf8Error';
}

/** Byte length of `s` once encoded; throws on a lone surrogate. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw new Utf8Error('lone high surrogate in string');
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) throw new Utf8Error('lone low surrogate in string');
    else n += 3;
  }
  return n;
}

/** Writes `s` into `out` at `offset`; returns the offset after it. Caller sized `out` with utf8Length. */
export function utf8Write(s: string, out: Uint8Array, offset: number): number {
  let o = offset;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(++i);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw new Utf8Error('lone high surrogate in string');
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 0x3f);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new Utf8Error('lone low surrogate in string');
    } else {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return o;
}

export function utf8Encode(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s));
  utf8Write(s, out, 0);
  return out;
}

/**
 * Decodes bytes [start, end) of `b`, rejecting overlong forms, surrogates, code points above
 * U+10FFFF and truncated sequences (RFC 3629). Throws Utf8Error naming the offset.
 */
export function utf8Decode(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  let i = start;
  // ASCII fast path: topics and keys are nearly always ASCII.
  while (i < end) {
    const c = b[i];
    if (c >= 0x80) break;
    i++;
  }
  if (i === end) return asciiSlice(b, start, end);
  s = asciiSlice(b, start, i);
  const units: number[] = [];
  while (i < end) {
    const c = b[i];
    let cp: number;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      if (i + 1 >= end) throw truncated(i);
      const c1 = b[i + 1];
      if ((c1 & 0xc0) !== 0x80) throw bad(i);
      cp = ((c & 0x1f) << 6) | (c1 & 0x3f);
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (i + 2 >= end) throw truncated(i);
      const c1 = b[i + 1];
      const c2 = b[i + 2];
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) throw bad(i);
      cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      if (cp < 0x800) throw new Utf8Error(`overlong UTF-8 sequence at byte ${i}`);
      if (cp >= 0xd800 && cp <= 0xdfff) throw new Utf8Error(`UTF-16 surrogate encoded in UTF-8 at byte ${i}`);
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (i + 3 >= end) throw truncated(i);
      const c1 = b[i + 1];
      const c2 = b[i + 2];
      const c3 = b[i + 3];
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) throw bad(i);
      cp = ((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
      if (cp < 0x10000) throw new Utf8Error(`overlong UTF-8 sequence at byte ${i}`);
      if (cp > 0x10ffff) throw new Utf8Error(`code point above U+10FFFF at byte ${i}`);
      i += 4;
    } else if (c === 0xc0 || c === 0xc1) {
      throw new Utf8Error(`overlong UTF-8 sequence at byte ${i}`);
    } else {
      throw bad(i);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length >= 256) {
      s += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  return s + String.fromCharCode.apply(null, units);
}

function asciiSlice(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i += 256) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 256)) as unknown as number[]);
  }
  return s;
}

function truncated(i: number): Utf8Error {
  return new Utf8Error(`truncated UTF-8 sequence at byte ${i}`);
}

function bad(i: number): Utf8Error {
  return new Utf8Error(`invalid UTF-8 byte at ${i}`);
}
