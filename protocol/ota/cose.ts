// COSE_Sign1 (RFC 9052) as Canopy uses it: detached payload (the manifest bytes), a protected header
// of exactly {1: alg, 4: kid}, an empty unprotected header, a fixed external AAD, and a raw r‖s or
// Ed25519 signature. Anything looser is refused, because every extra freedom is a way for two
// readers to disagree about what was signed.

import { encode, Tagged, type CborValue } from '../cbor/index';
import { OtaError } from './reasons';

export const COSE_SIGN1_TAG = 18;
export const ALG_ES256 = -7;
export const ALG_EDDSA = -8;
export type CoseAlg = typeof ALG_ES256 | typeof ALG_EDDSA;
export const KID_LENGTH = 8;
export const SIGNATURE_LENGTH = 64;
/** Binds a signature to this use: a COSE_Sign1 made for anything else does not verify here. */
export const EXTERNAL_AAD: Uint8Array = new Uint8Array([
  0x63, 0x61, 0x6e, 0x6f, 0x70, 0x79, 0x2d, 0x6f, 0x74, 0x61, 0x2d, 0x76, 0x31, // "canopy-ota-v1"
]);

const HEADER_ALG = 1;
const HEADER_KID = 4;

export interface CoseSignature {
  alg: CoseAlg;
  kid: Uint8Array;
  /** The exact protected-header bytes, as signed. */
  protectedBytes: Uint8Array;
  signature: Uint8Array;
}

export function algName(alg: CoseAlg): 'ES256' | 'EdDSA' {
  return alg === ALG_ES256 ? 'ES256' : 'EdDSA';
}

export function encodeProtected(alg: CoseAlg, kid: Uint8Array): Uint8Array {
  return encode(
    new Map<CborValue, CborValue>([
      [HEADER_ALG, alg],
      [HEADER_KID, kid],
    ]),
  );
}

/** Sig_structure = ["Signature1", protected, external_aad, payload]: the bytes a key signs. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array, aad: Uint8Array = EXTERNAL_AAD): Uint8Array {
  return encode(['Signature1', protectedBytes, aad, payload]);
}

/** The COSE_Sign1 item (tag 18) with a nil payload. */
export function coseSign1(sig: CoseSignature): Tagged {
  return new Tagged(COSE_SIGN1_TAG, [sig.protectedBytes, new Map(), null, sig.signature]);
}

function bad(detail: string): OtaError {
  return new OtaError('envelope', detail);
}

/**
 * Reads one decoded COSE_Sign1 item. `protectedHeader` is the decoded protected map (the caller
 * decodes it strictly, so CBOR faults report as 'cbor').
 */
export function readCoseSign1(item: CborValue, index: number, decodeProtected: (b: Uint8Array) => CborValue): CoseSignature {
  const where = `signature ${index}`;
  if (!(item instanceof Tagged)) throw bad(`${where} is not a tagged COSE_Sign1`);
  if (item.tag !== COSE_SIGN1_TAG) throw bad(`${where} has tag ${item.tag}, expected ${COSE_SIGN1_TAG} (COSE_Sign1)`);
  const v = item.value;
  if (!Array.isArray(v) || v.length !== 4) throw bad(`${where} is not a 4-element COSE_Sign1 array`);
  const [prot, unprot, payload, signature] = v;
  if (!(prot instanceof Uint8Array)) throw bad(`${where} protected header is not a byte string`);
  if (!(unprot instanceof Map) || unprot.size !== 0) throw bad(`${where} unprotected header must be an empty map`);
  if (payload !== null) throw bad(`${where} carries a payload; Canopy signatures are detached`);
  if (!(signature instanceof Uint8Array)) throw bad(`${where} signature is not a byte string`);
  if (signature.length !== SIGNATURE_LENGTH) {
    throw bad(`${where} is ${signature.length} bytes; raw ES256/EdDSA signatures are ${SIGNATURE_LENGTH}`);
  }
  const header = decodeProtected(prot);
  if (!(header instanceof Map) || header.size !== 2 || !header.has(HEADER_ALG) || !header.has(HEADER_KID)) {
    throw bad(`${where} protected header must be exactly {1: alg, 4: kid}`);
  }
  const alg = header.get(HEADER_ALG);
  if (alg !== ALG_ES256 && alg !== ALG_EDDSA) throw bad(`${where} alg ${String(alg)} is neither ES256 (-7) nor EdDSA (-8)`);
  const kid = header.get(HEADER_KID);
  if (!(kid instanceof Uint8Array) || kid.length !== KID_LENGTH) throw bad(`${where} kid must be ${KID_LENGTH} bytes`);
  return { alg, kid, protectedBytes: prot, signature };
}
