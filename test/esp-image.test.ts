import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildXsBundle } from '../host/xs/bundle.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { crc32 } from '../protocol/crc32.ts';
import {
  EspImageStreamParser,
  parseEspImage,
  type EspImageInfo,
  type EspImageOptions,
} from '../protocol/ota/esp-image.ts';
import { OTA_REASONS, OtaError, reasonCode, reasonFromCode, type OtaStatus } from '../protocol/ota/reasons.ts';

// The ESP-IDF v5.2.2 builds shared by the whole project (see docs in ../shared/notes/esp-image.md).
const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');
const load = (chip: string, file: string) => new Uint8Array(readFileSync(resolve(FIXTURES, chip, file)));
const esp32 = load('esp32', 'hello_world.bin');

const hex = (n: number) => '0x' + n.toString(16).toUpperCase();
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** What a parse yields: the info, or the error's reason and detail. */
function outcome(run: () => EspImageInfo): EspImageInfo | { reason: string; detail: string } {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof OtaError)) throw e;
    return { reason: e.reason, detail: e.detail };
  }
}

function streamed(bytes: Uint8Array, cuts: number[], options?: EspImageOptions) {
  return outcome(() => {
    const p = new EspImageStreamParser(options);
    let from = 0;
    for (const c of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
      p.push(bytes.subarray(from, c));
      from = c;
    }
    p.push(bytes.subarray(from));
    return p.finish();
  });
}

function rejects(bytes: Uint8Array, detail: string, options?: EspImageOptions, reason = 'esp-image') {
  expect(outcome(() => parseEspImage(bytes, options))).toEqual({ reason, detail });
}

/** Segment data offsets, then the checksum offset, read the way the bootloader walks an image. */
function layout(b: Uint8Array) {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const segments: { header: number; data: number; length: number }[] = [];
  let at = 24;
  for (let i = 0; i < b[1]; i++) {
    const length = view.getUint32(at + 4, true);
    segments.push({ header: at, data: at + 8, length });
    at += 8 + length;
  }
  return { segments, checksum: (at & ~15) + 15 };
}

/** Recomputes checksum and appended hash after an edit, so a test reaches the check it targets. */
function reseal(b: Uint8Array): Uint8Array {
  const { segments, checksum } = layout(b);
  let x = 0xef;
  for (const s of segments) for (let i = s.data; i < s.data + s.length; i++) x ^= b[i];
  b[checksum] = x;
  if (b[23] === 1) b.set(sha(b.subarray(0, checksum + 1)), checksum + 1);
  return b;
}

const edit = (f: (b: Uint8Array) => void, from = esp32) => {
  const b = from.slice();
  f(b);
  return b;
};

/** A Secure Boot V2 sector: `versions.length` blocks with valid CRCs, the rest erased. */
function signatureSector(image: Uint8Array, versions: number[]): Uint8Array {
  const sector = new Uint8Array(4096).fill(0xff);
  versions.forEach((version, k) => {
    const block = sector.subarray(k * 1216, (k + 1) * 1216);
    block.fill(0x5a, 36, 1196);
    block[0] = 0xe7;
    block[1] = version;
    block[2] = block[3] = 0;
    block.set(sha(image), 4);
    new DataView(block.buffer, block.byteOffset).setUint32(1196, crc32(block.subarray(0, 1196)), true);
    block.fill(0, 1200);
  });
  return sector;
}

function signed(image: Uint8Array, versions: number[]): Uint8Array {
  const padded = new Uint8Array(Math.ceil(image.length / 4096) * 4096).fill(0xff);
  padded.set(image);
  const out = new Uint8Array(padded.length + 4096);
  out.set(padded);
  out.set(signatureSector(padded, versions), padded.length);
  return out;
}

describe('OTA reason codes', () => {
  it('gives every reason a distinct stable code, 0 only for ok, failures within 10..40', () => {
    const names = Object.keys(OTA_REASONS) as OtaStatus[];
    expect(names).toEqual([
      'ok', 'frame', 'truncated', 'trailing', 'cbor', 'envelope', 'signature', 'manifest', 'class', 'target',
      'rollback', 'prerequisite', 'expired', 'size', 'chunk', 'digest', 'esp-mismatch', 'esp-image', 'busy', 'flash',
    ]);
    const codes = names.map(reasonCode);
    expect(new Set(codes).size).toBe(names.length);
    expect(reasonCode('ok')).toBe(0);
    for (const n of names.slice(1)) expect(reasonCode(n)).toBeGreaterThanOrEqual(10);
    for (const n of names.slice(1)) expect(reasonCode(n)).toBeLessThanOrEqual(40);
    for (const n of names) expect(reasonFromCode(reasonCode(n))).toBe(n);
    expect(reasonFromCode(9)).toBeUndefined();
    expect(reasonCode('esp-image')).toBe(26);
  });

  it('OtaError carries reason, detail and code', () => {
    const e = new OtaError('digest', 'payload SHA-256 mismatch');
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('digest: payload SHA-256 mismatch');
    expect([e.name, e.reason, e.detail, e.code]).toEqual(['OtaError', 'digest', 'payload SHA-256 mismatch', 24]);
  });
});

describe('ESP-IDF hello_world fixtures', () => {
  const cases = [
    { chip: 'esp32', chipId: 0x0000, name: 'ESP32', revisions: [0, 399], cks: 0x9a },
    { chip: 'esp32-c3', chipId: 0x0005, name: 'ESP32-C3', revisions: [3, 199], cks: 0x2f },
    { chip: 'esp32-s3', chipId: 0x0009, name: 'ESP32-S3', revisions: [0, 99], cks: 0x47 },
  ];
  for (const { chip, chipId, name, revisions, cks } of cases) {
    it(`parses ${chip}/hello_world.bin`, () => {
      const bytes = load(chip, 'hello_world.bin');
      const info = parseEspImage(bytes);
      expect(info.header).toMatchObject({
        chipId,
        chipName: name,
        segmentCount: 5,
        spiMode: 2, // DIO
        flashSizeBytes: 2 * 1024 * 1024,
        minChipRevisionFull: revisions[0],
        maxChipRevisionFull: revisions[1],
        hashAppended: true,
      });
      expect(info.segments).toHaveLength(5);
      expect(info.segments[0].dataOffset).toBe(32);
      expect(info.appDescriptor).toMatchObject({
        secureVersion: 0,
        projectName: 'hello_world',
        version: 'v1.4.1-2-g0296947-dirty',
        date: 'Jul 25 2024',
        idfVersion: 'v5.2.2-dirty',
      });
      expect(info.appDescriptor?.idfVersion).toMatch(/^v5\.2\.2/);
      expect(info.appDescriptor?.appElfSha256).toHaveLength(32);
      expect(info.checksum).toBe(cks);
      expect(info.checksumOffset).toBe(bytes.length - 33);
      expect(info.hashVerified).toBe(true);
      expect(info.appendedSha256).toEqual(sha(bytes.subarray(0, bytes.length - 32)));
      expect(info.imageLength).toBe(bytes.length);
      expect(info.totalLength).toBe(bytes.length);
      expect(info.paddedLength).toBe(Math.ceil(bytes.length / 4096) * 4096);
      expect(info.signatureBlocks).toEqual([]);
    });
  }

  it('parses the bootloaders once the app descriptor is optional, and refuses them as OTA payloads', () => {
    for (const [chip, chipId, segments] of [['esp32', 0, 4], ['esp32-c3', 5, 3], ['esp32-s3', 9, 4]] as const) {
      const bytes = load(chip, 'bootloader.bin');
      const info = parseEspImage(bytes, { requireAppDescriptor: false });
      expect(info.header.chipId).toBe(chipId);
      expect(info.segments).toHaveLength(segments);
      expect(info.appDescriptor).toBeUndefined();
      expect(info.hashVerified).toBe(true);
      expect(info.imageLength).toBe(bytes.length);
      rejects(bytes, 'app descriptor magic missing (bootloader image?)');
    }
  });

  it('exposes header and app descriptor mid-stream, before the image is complete', () => {
    const p = new EspImageStreamParser();
    p.push(esp32.subarray(0, 24));
    expect(p.header?.chipName).toBe('ESP32');
    expect(p.appDescriptor).toBeUndefined();
    p.push(esp32.subarray(24, 32 + 256));
    expect(p.appDescriptor?.projectName).toBe('hello_world');
    expect(p.bytesReceived).toBe(288);
  });
});

describe('streaming', () => {
  it('gives the whole-buffer result for any chunking, one byte at a time included', () => {
    const whole = parseEspImage(esp32);
    const p = new EspImageStreamParser();
    for (let i = 0; i < esp32.length; i++) p.push(esp32.subarray(i, i + 1));
    expect(p.finish()).toEqual(whole);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: esp32.length }), { maxLength: 40 }), (cuts) => {
        expect(streamed(esp32, cuts)).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });

  it('gives the whole-buffer error for any chunking of a cut, corrupted or oversized image', () => {
    const sig = signed(esp32, [3]);
    fc.assert(
      fc.property(
        fc.nat({ max: sig.length + 8 }),
        fc.option(fc.tuple(fc.nat({ max: sig.length - 1 }), fc.integer({ min: 1, max: 255 }))),
        fc.option(fc.nat({ max: sig.length + 8 })),
        fc.array(fc.nat({ max: sig.length }), { maxLength: 12 }),
        (length, flip, maxSize, cuts) => {
          const bytes = new Uint8Array(length);
          bytes.set(sig.subarray(0, length));
          if (flip && flip[0] < length) bytes[flip[0]] ^= flip[1];
          const options = maxSize === null ? undefined : { maxSize };
          expect(streamed(bytes, cuts, options)).toEqual(outcome(() => parseEspImage(bytes, options)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps failing with the same error after one', () => {
    const p = new EspImageStreamParser();
    expect(() => p.push(edit((b) => (b[0] = 0)))).toThrow('esp-image: bad magic 0x00, expected 0xE9');
    expect(() => p.push(new Uint8Array(1))).toThrow('esp-image: bad magic 0x00, expected 0xE9');
    expect(() => p.finish()).toThrow('esp-image: bad magic 0x00, expected 0xE9');
  });
});

describe('bad ESP images', () => {
  const { segments, checksum } = layout(esp32);

  it('rejects a bad magic, 0 or 17 segments, an unknown chip id and a bad hash_appended flag', () => {
    rejects(edit((b) => (b[0] = 0xe8)), 'bad magic 0xE8, expected 0xE9');
    rejects(edit((b) => (b[1] = 0)), 'segment count 0 is outside 1..16');
    rejects(edit((b) => (b[1] = 17)), 'segment count 17 is outside 1..16');
    rejects(edit((b) => ((b[12] = 0x42), (b[13] = 0))), 'unknown chip id 0x0042');
    rejects(edit((b) => (b[12] = b[13] = 0xff)), 'unknown chip id 0xFFFF');
    rejects(edit((b) => (b[23] = 2)), 'hash_appended byte 0x02 is neither 0 nor 1');
  });

  it('rejects a segment length that is not a multiple of 4', () => {
    expect(segments[3].length).toBe(0x3110);
    const bad = edit((b) => new DataView(b.buffer).setUint32(segments[3].header + 4, 0x3111, true));
    rejects(bad, 'segment 3 length 0x3111 is not a multiple of 4');
  });

  it('names the structure a truncation falls in, at every boundary', () => {
    const at = (n: number, where: string) =>
      rejects(esp32.subarray(0, n), `image truncated inside ${where} at offset ${hex(n)}`);
    for (const n of [0, 1, 12, 23]) at(n, 'the header');
    segments.forEach((s, i) => {
      at(s.header, `segment ${i} header`);
      at(s.header + 7, `segment ${i} header`);
      at(s.data, `segment ${i} data`);
      at(s.data + 1, `segment ${i} data`);
      at(s.data + s.length - 1, `segment ${i} data`);
    });
    const blockStart = segments[4].data + segments[4].length;
    at(blockStart, 'the checksum block');
    at(checksum, 'the checksum block');
    at(checksum + 1, 'the appended SHA-256');
    at(esp32.length - 1, 'the appended SHA-256');
  });

  it('rejects a checksum mismatch before looking at the hash', () => {
    rejects(
      edit((b) => (b[segments[2].data + 100] ^= 0x21)),
      `checksum mismatch: stored 0x9A, computed ${'0x' + (0x9a ^ 0x21).toString(16).toUpperCase()}`,
    );
    rejects(edit((b) => (b[checksum] = 0x12)), 'checksum mismatch: stored 0x12, computed 0x9A');
  });

  it('catches an edit that keeps the XOR checksum by the appended hash, else by the missing magic', () => {
    // Swapping byte pairs of the descriptor magic leaves the XOR of segment data unchanged.
    const bad = edit((b) => b.set([b[33], b[32], b[35], b[34]], 32));
    expect(bad.subarray(32, 36)).not.toEqual(esp32.subarray(32, 36));
    rejects(bad, 'appended SHA-256 mismatch');
    rejects(bad, 'app descriptor magic missing (bootloader image?)', { verifyHash: false });
    expect(parseEspImage(bad, { verifyHash: false, requireAppDescriptor: false }).hashVerified).toBe(false);
  });

  it('rejects an appended hash that does not match', () => {
    rejects(edit((b) => (b[b.length - 1] ^= 1)), 'appended SHA-256 mismatch');
    rejects(edit((b) => (b[checksum + 1] ^= 0x80)), 'appended SHA-256 mismatch');
  });

  it('rejects a missing app descriptor unless told it is optional', () => {
    const bad = reseal(edit((b) => b.fill(0, 32, 36)));
    rejects(bad, 'app descriptor magic missing (bootloader image?)');
    expect(parseEspImage(bad, { requireAppDescriptor: false }).appDescriptor).toBeUndefined();
  });

  it('rejects descriptor strings that are unterminated or not UTF-8, even when the descriptor is optional', () => {
    const cases: [number, number, string][] = [
      [48, 32, 'version'],
      [80, 32, 'project_name'],
      [112, 16, 'time'],
      [128, 16, 'date'],
      [144, 32, 'idf_ver'],
    ];
    for (const [at, size, field] of cases) {
      const bad = reseal(edit((b) => b.fill(0x41, at, at + size)));
      const detail = `app descriptor ${field} is not NUL-terminated within its ${size} bytes`;
      rejects(bad, detail);
      rejects(bad, detail, { requireAppDescriptor: false });
    }
    rejects(
      reseal(edit((b) => b.set([0x68, 0xc3, 0x28], 80))),
      'app descriptor project_name is not valid UTF-8: invalid UTF-8 byte at 1 of the field',
    );
    // Exactly full with the NUL in its last byte is fine.
    const full = reseal(edit((b) => (b.fill(0x41, 80, 111), (b[111] = 0))));
    expect(parseEspImage(full).appDescriptor?.projectName).toBe('A'.repeat(31));
  });

  it('rejects an image larger than the partition with reason size', () => {
    expect(parseEspImage(esp32, { maxSize: esp32.length }).imageLength).toBe(esp32.length);
    rejects(esp32, `image does not fit the ${esp32.length - 1}-byte partition`, { maxSize: esp32.length - 1 }, 'size');
    // A structural error inside the partition still wins over the size.
    rejects(edit((b) => (b[1] = 0)), 'segment count 0 is outside 1..16', { maxSize: 100 });
  });

  it('rejects bytes after the image that are not a signature sector', () => {
    const end = `unexpected bytes after the image end at offset ${hex(esp32.length)}`;
    const plus = (n: number, fill = 0xff) => {
      const b = new Uint8Array(esp32.length + n).fill(fill);
      b.set(esp32);
      return b;
    };
    rejects(plus(1), end);
    rejects(plus(4096 - (esp32.length % 4096)), end);
    rejects(plus(4096 - (esp32.length % 4096) + 4096), end);
    rejects(plus(4096 - (esp32.length % 4096) + 10), end);
    rejects(plus(4096 - (esp32.length % 4096) + 10, 0xe7).subarray(0, esp32.length + 5), end);
    rejects(plus(20000), end);
  });
});

describe('Secure Boot V2 signature sector', () => {
  const paddedLength = Math.ceil(esp32.length / 4096) * 4096;

  it('reports ECDSA and RSA-PSS blocks after the padded image', () => {
    const ecdsa = signed(esp32, [3]);
    const info = parseEspImage(ecdsa);
    expect(info.signatureBlocks).toEqual([
      { index: 0, offset: paddedLength, version: 3, scheme: 'ecdsa', imageDigest: sha(ecdsa.subarray(0, paddedLength)) },
    ]);
    expect([info.imageLength, info.paddedLength, info.totalLength]).toEqual([
      esp32.length,
      paddedLength,
      paddedLength + 4096,
    ]);
    const rsa = parseEspImage(signed(esp32, [2, 2]));
    expect(rsa.signatureBlocks.map((b) => [b.offset, b.scheme])).toEqual([
      [paddedLength, 'rsa-pss-3072'],
      [paddedLength + 1216, 'rsa-pss-3072'],
    ]);
  });

  it('rejects a bad block CRC or version, a cut sector and bytes after the sector', () => {
    const good = signed(esp32, [3, 3]);
    const stored = new DataView(good.buffer).getUint32(paddedLength + 1216 + 1196, true);
    const bad = good.slice();
    bad[paddedLength + 1216 + 500] ^= 1;
    const computed = crc32(bad.subarray(paddedLength + 1216, paddedLength + 1216 + 1196));
    const h8 = (n: number) => '0x' + n.toString(16).toUpperCase().padStart(8, '0');
    rejects(bad, `signature block 1 CRC32 mismatch: stored ${h8(stored)}, computed ${h8(computed)}`);
    rejects(signed(esp32, [4]), 'signature block 0 has unknown version 0x04');
    const cut = good.length - 1;
    rejects(good.subarray(0, cut), `image truncated inside the signature sector at offset ${hex(cut)}`);
    const extra = new Uint8Array(good.length + 1);
    extra.set(good);
    rejects(extra, `unexpected bytes after the signature sector at offset ${hex(good.length)}`);
    rejects(good, `image does not fit the ${good.length - 1}-byte partition`, { maxSize: good.length - 1 }, 'size');
  });
});

describe('synthetic images', () => {
  // A minimal app: header, segments as given, checksum, appended hash.
  function build(segmentData: Uint8Array[]): Uint8Array {
    const header = esp32.slice(0, 24);
    header[1] = segmentData.length;
    const parts: Uint8Array[] = [header];
    for (const d of segmentData) {
      const h = new Uint8Array(8);
      new DataView(h.buffer).setUint32(0, 0x3f400020, true);
      new DataView(h.buffer).setUint32(4, d.length, true);
      parts.push(h, d);
    }
    const body = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array((body & ~15) + 16 + 32);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return reseal(out);
  }
  const desc = esp32.slice(32, 32 + 256);

  it('accepts 16 segments, zero-length ones included', () => {
    const info = parseEspImage(build([desc, ...Array.from({ length: 15 }, (_, i) => new Uint8Array(i * 4))]));
    expect(info.segments.map((s) => s.length)).toEqual([256, ...Array.from({ length: 15 }, (_, i) => i * 4)]);
    expect(info.appDescriptor?.projectName).toBe('hello_world');
  });

  it('rejects a first segment too short to hold the descriptor it starts', () => {
    rejects(build([desc.slice(0, 16)]), 'segment 0 is 16 bytes, too short for the 256-byte app descriptor');
    rejects(build([new Uint8Array(16)]), 'app descriptor magic missing (bootloader image?)');
    expect(parseEspImage(build([new Uint8Array(16)]), { requireAppDescriptor: false }).appDescriptor).toBeUndefined();
  });

  it('accepts an image without an appended hash', () => {
    const img = build([desc]);
    img[23] = 0;
    const noHash = img.subarray(0, img.length - 32);
    const info = parseEspImage(noHash);
    expect([info.header.hashAppended, info.hashVerified, info.appendedSha256]).toEqual([false, false, undefined]);
    expect(info.imageLength).toBe(noHash.length);
  });
});

describe('on the XS engine', () => {
  let worker: XsWorker | undefined;
  afterAll(() => worker?.kill());

  // Same summary on both engines: bytes as hex, errors as reason + detail.
  const summarize = (run: () => unknown) => {
    try {
      return JSON.stringify(run(), (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    } catch (e) {
      if (e instanceof OtaError) return JSON.stringify({ reason: e.reason, detail: e.detail });
      throw e;
    }
  };

  it('parses images in 1000-byte chunks and hashes them exactly as Node does', async () => {
    const bundle = await buildXsBundle({
      resolveDir: resolve(import.meta.dirname, '..'),
      source: `
        import { EspImageStreamParser } from './protocol/ota/esp-image.ts';
        import { OtaError } from './protocol/ota/reasons.ts';
        import { sha256 } from './protocol/ota/sha256.ts';
        import { utf8Encode } from './protocol/utf8.ts';
        const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
        globalThis.handleCommand = (ab) => {
          const bytes = new Uint8Array(ab);
          let parsed;
          try {
            const p = new EspImageStreamParser();
            for (let i = 0; i < bytes.length; i += 1000) p.push(bytes.subarray(i, i + 1000));
            parsed = JSON.stringify(p.finish(), (_, v) => (v instanceof Uint8Array ? hex(v) : v));
          } catch (e) {
            if (!(e instanceof OtaError)) throw e;
            parsed = JSON.stringify({ reason: e.reason, detail: e.detail });
          }
          return utf8Encode(JSON.stringify({ parsed, sha256: hex(sha256(bytes)) })).buffer;
        };
      `,
    });
    worker = new XsWorker({ name: 'esp-image' });
    await worker.evaluate(bundle.code);
    const images = [
      esp32,
      load('esp32-s3', 'hello_world.bin'),
      signed(load('esp32-c3', 'hello_world.bin'), [3]),
      edit((b) => (b[5000] ^= 4)),
      reseal(edit((b) => b.fill(0x41, 80, 112))),
    ];
    const replies: { parsed: string }[] = [];
    for (const image of images) {
      const reply = JSON.parse(new TextDecoder().decode((await worker.issueCommand(image)).bytes));
      const node = { parsed: summarize(() => parseEspImage(image)), sha256: Buffer.from(sha(image)).toString('hex') };
      expect(reply).toEqual(node);
      replies.push(reply);
    }
    expect(replies[0].parsed).toContain('"projectName":"hello_world"');
    expect(replies[2].parsed).toContain('"scheme":"ecdsa"');
    expect(replies[3].parsed).toContain('checksum mismatch');
    expect(replies[4].parsed).toContain('project_name is not NUL-terminated');
  });
});
