// Package framing: a 13-byte header, the CBOR envelope, the optional chunk-digest table, then the
// unmodified ESP-IDF image, so HTTP ranges and MQTT blocks address image bytes directly.
//
//   0  4  magic "COTA"          4  1  format version (1)
//   5  4  envelope length (BE)  9  4  chunk table length (BE, 0 when absent)
//   13 .. envelope = [manifest: bstr, signatures: [1*4 COSE_Sign1]]   then table, then payload
//
// The payload length is not framed: it is what remains, and the signed manifest says how long it
// must be, so a short or long file is caught against an authenticated number.

import { decode, encode, CborError, type CborValue } from '../cbor/index';
import { coseSign1, readCoseSign1, type CoseSignature } from './cose';
import { OtaError } from './reasons';

import { toHex } from './bytes';

export { fromHex, toHex } from './bytes';

export const PACKAGE_MAGIC = new Uint8Array([0x43, 0x4f, 0x54, 0x41]); // "COTA"
export const PACKAGE_VERSION = 1;
export const HEADER_LENGTH = 13;
export const MAX_ENVELOPE = 32 * 1024;
export const MAX_TABLE = 256 * 1024;
export const MAX_SIGNATURES = 4;
// COSE tags a confused signer might produce: read so the error names the shape, not "unknown tag".
const COSE_TAGS = [16, 17, 18, 96, 97, 98];

export interface PackageLayout {
  envelopeLength: number;
  tableLength: number;
  /** Offsets in the package file. */
  envelopeOffset: number;
  tableOffset: number;
  payloadOffset: number;
}

export interface Envelope {
  manifestBytes: Uint8Array;
  signatures: CoseSignature[];
}

export interface PackageParts {
  layout: PackageLayout;
  envelopeBytes: Uint8Array;
  envelope: Envelope;
  table: Uint8Array;
  payload: Uint8Array;
}

function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function putU32be(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Reads the fixed header; needs only the first 13 bytes, so a streaming reader can call it early. */
export function readPackageHeader(b: Uint8Array): PackageLayout {
  if (b.length < HEADER_LENGTH) throw new OtaError('truncated', `package is ${b.length} bytes, shorter than its ${HEADER_LENGTH}-byte header`);
  for (let i = 0; i < 4; i++) {
    if (b[i] !== PACKAGE_MAGIC[i]) throw new OtaError('frame', 'bad magic: not a Canopy OTA package ("COTA")');
  }
  if (b[4] !== PACKAGE_VERSION) throw new OtaError('frame', `package format version ${b[4]}, this build reads ${PACKAGE_VERSION}`);
  const envelopeLength = u32be(b, 5);
  const tableLength = u32be(b, 9);
  if (envelopeLength === 0 || envelopeLength > MAX_ENVELOPE) throw new OtaError('frame', `envelope length ${envelopeLength} is outside 1..${MAX_ENVELOPE}`);
  if (tableLength > MAX_TABLE || tableLength % 32 !== 0) throw new OtaError('frame', `chunk table length ${tableLength} is not a multiple of 32 up to ${MAX_TABLE}`);
  const envelopeOffset = HEADER_LENGTH;
  const tableOffset = envelopeOffset + envelopeLength;
  return { envelopeLength, tableLength, envelopeOffset, tableOffset, payloadOffset: tableOffset + tableLength };
}

export function encodeEnvelope(manifestBytes: Uint8Array, signatures: CoseSignature[]): Uint8Array {
  if (signatures.length < 1 || signatures.length > MAX_SIGNATURES) {
    throw new OtaError('envelope', `${signatures.length} signatures; a package carries 1..${MAX_SIGNATURES}`);
  }
  return encode([manifestBytes, signatures.map(coseSign1)]);
}

function cborFault(what: string, e: unknown): never {
  if (e instanceof CborError) throw new OtaError('cbor', `${what}: ${e.message}`);
  throw e;
}

/** Strict decode of the envelope's shape. Nothing here is authenticated yet. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let v: CborValue;
  try {
    v = decode(bytes, { tags: COSE_TAGS, floats: false, maxDepth: 6 });
  } catch (e) {
    cborFault('envelope', e);
  }
  if (!Array.isArray(v) || v.length !== 2) throw new OtaError('envelope', 'envelope must be [manifest, signatures]');
  const [manifestBytes, sigs] = v;
  if (!(manifestBytes instanceof Uint8Array)) throw new OtaError('envelope', 'manifest must be a byte string');
  if (!Array.isArray(sigs)) throw new OtaError('envelope', 'signatures must be an array');
  if (sigs.length < 1 || sigs.length > MAX_SIGNATURES) {
    throw new OtaError('envelope', `${sigs.length} signatures; a package carries 1..${MAX_SIGNATURES}`);
  }
  const signatures: CoseSignature[] = [];
  const kids = new Set<string>();
  sigs.forEach((item, i) => {
    const sig = readCoseSign1(item, i, (b) => {
      try {
        return decode(b, { floats: false, maxDepth: 2 });
      } catch (e) {
        cborFault(`signature ${i} protected header`, e);
      }
    });
    const id = toHex(sig.kid);
    if (kids.has(id)) throw new OtaError('envelope', `kid ${id} signs twice`);
    kids.add(id);
    signatures.push(sig);
  });
  return { manifestBytes, signatures };
}

/** Splits a whole package; the payload is everything after the table (its length is checked later). */
export function parsePackage(b: Uint8Array): PackageParts {
  const layout = readPackageHeader(b);
  if (b.length < layout.payloadOffset) {
    throw new OtaError('truncated', `package is ${b.length} bytes; its header declares ${layout.payloadOffset} before the payload`);
  }
  const envelopeBytes = b.subarray(layout.envelopeOffset, layout.tableOffset);
  return {
    layout,
    envelopeBytes,
    envelope: decodeEnvelope(envelopeBytes),
    table: b.subarray(layout.tableOffset, layout.payloadOffset),
    payload: b.subarray(layout.payloadOffset),
  };
}

/**
 * The package up to its payload: header, envelope and chunk table. A writer sends the payload
 * straight after it (ota/pack.ts packParts, `canopy ota pack`) instead of copying a 1.5 MB image
 * into a fresh buffer, whose first touch page-faults (about 0.6 ms, more than half a SHA-256 pass).
 */
export function buildPackageHead(envelopeBytes: Uint8Array, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + envelopeBytes.length + table.length);
  out.set(PACKAGE_MAGIC, 0);
  out[4] = PACKAGE_VERSION;
  putU32be(out, 5, envelopeBytes.length);
  putU32be(out, 9, table.length);
  out.set(envelopeBytes, HEADER_LENGTH);
  out.set(table, HEADER_LENGTH + envelopeBytes.length);
  readPackageHeader(out); // refuse to emit what we would refuse to read
  return out;
}

/** The whole package in one buffer: buildPackageHead, then the payload. */
export function buildPackage(envelopeBytes: Uint8Array, table: Uint8Array, payload: Uint8Array): Uint8Array {
  const head = buildPackageHead(envelopeBytes, table);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}
