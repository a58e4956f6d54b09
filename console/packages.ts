// Packages the console has been given: each upload is checked with the verifier and reason codes
// of `canopy ota verify` (ota/preflight.ts with the trust store) before anything is kept, and only
// a package that passes is written, under the state folder, as <package id>.canopy. The console
// never signs and never takes a signing key: an upload that is a private key (PEM or DER) is
// refused by name and dropped, so signing stays on the machine that runs `canopy ota pack`.
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeManifest, isPackage } from '../ota/inspect.ts';
import { preflight } from '../ota/preflight.ts';
import { parsePackage, toHex } from '../protocol/ota/package.ts';
import { describeReason, OtaError } from '../protocol/ota/reasons.ts';
import { sha256 } from '../protocol/ota/sha256.ts';
import type { TrustStore } from '../protocol/ota/trust.ts';

/** Larger than any app partition of a 16 MB flash; more is refused before it is read. */
export const MAX_UPLOAD = 16 * 1024 * 1024;

export interface StoredPackage {
  /** SHA-256 of the manifest, hex: the id `canopy ota rollout` keys its state file by. */
  id: string;
  name: string;
  size: number;
  manifest: Record<string, unknown>;
  signers: string[];
  bytes: Uint8Array;
  receivedAt: number;
}

/** Why an upload was refused: an OTA reason (with its code, as `ota verify` exits) or a console one. */
export interface Refusal {
  status: number;
  /** protocol/ota/reasons.ts name, or private-key, empty, too-large, no-trust. */
  reason: string;
  /** The OTA reason code (the exit code of `canopy ota verify`), for OTA reasons. */
  code?: number;
  detail: string;
  description: string;
}

export type Verdict = { ok: true; pkg: StoredPackage } | { ok: false; refusal: Refusal };

const PEM_PRIVATE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;

/** A PEM or DER private key, which must never be uploaded. */
export function looksLikePrivateKey(bytes: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64 * 1024));
  if (PEM_PRIVATE.test(head)) return true;
  if (bytes[0] !== 0x30 || bytes.length > 16 * 1024) return false;
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      createPrivateKey({ key: Buffer.from(bytes), format: 'der', type });
      return true;
    } catch {
      // not this encoding
    }
  }
  return false;
}

export const PRIVATE_KEY_REFUSAL = (name: string): Refusal => ({
  status: 400,
  reason: 'private-key',
  detail: `${name} is a private key. The console never takes signing keys and kept nothing of it`,
  description: 'sign on your own machine with `npx canopy ota pack --key KEY.pem …` and upload the .canopy package it writes',
});

/** The verdict on uploaded bytes, with the trust store the console was started with. Pure: stores nothing. */
export function verifyUpload(bytes: Uint8Array, name: string, trust: TrustStore | undefined, now = Date.now()): Verdict {
  if (bytes.length === 0) return refuse(400, 'empty', `${name} is empty`, 'choose a .canopy package made by `npx canopy ota pack`');
  if (!isPackage(bytes) && looksLikePrivateKey(bytes)) {
    bytes.fill(0);
    return { ok: false, refusal: PRIVATE_KEY_REFUSAL(name) };
  }
  if (!trust) return refuse(409, 'no-trust', 'the console was started without --trust FILE', 'restart it with --trust trust.json (from `npx canopy ota pubkey`): every package is verified before it is kept');
  try {
    const p = preflight(bytes, trust);
    const id = toHex(sha256(parsePackage(bytes).envelope.manifestBytes));
    return {
      ok: true,
      pkg: { id, name, size: bytes.length, manifest: describeManifest(p.manifest), signers: (p.signers ?? []).map((k) => `${k.role} ${toHex(k.kid)}`), bytes, receivedAt: now },
    };
  } catch (e) {
    if (e instanceof OtaError) return { ok: false, refusal: { status: 422, reason: e.reason, code: e.code, detail: e.detail, description: describeReason(e.reason) } };
    throw e;
  }
}

function refuse(status: number, reason: string, detail: string, description: string): Verdict {
  return { ok: false, refusal: { status, reason, detail, description } };
}

/** Verified packages, in memory and as files under `<state>/packages`. */
export class PackageStore {
  private readonly byId = new Map<string, StoredPackage>();
  private readonly dir: string;

  constructor(stateDir: string, private readonly trust: TrustStore | undefined) {
    this.dir = join(stateDir, 'packages');
    // Kept packages are verified again at start: a trust store that changed drops what it no longer signs.
    if (existsSync(this.dir)) {
      for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.canopy'))) {
        const v = verifyUpload(new Uint8Array(readFileSync(join(this.dir, file))), file, trust);
        if (v.ok) this.byId.set(v.pkg.id, v.pkg);
      }
    }
  }

  /** Verifies, then keeps (file written last, atomically); a refusal leaves everything as it was. */
  add(bytes: Uint8Array, name: string): Verdict {
    const v = verifyUpload(bytes, name, this.trust);
    if (!v.ok) return v;
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${v.pkg.id}.canopy`);
    writeFileSync(file + '.tmp', bytes);
    renameSync(file + '.tmp', file);
    this.byId.set(v.pkg.id, v.pkg);
    return v;
  }

  get(id: string): StoredPackage | undefined {
    return this.byId.get(id);
  }

  list(): StoredPackage[] {
    return [...this.byId.values()].sort((a, b) => b.receivedAt - a.receivedAt);
  }
}

/** A package as the pages see it: everything but the bytes. */
export function packageJson(p: StoredPackage): Record<string, unknown> {
  const { bytes: _b, ...rest } = p;
  return { ...rest, receivedAt: new Date(p.receivedAt).toISOString() };
}
