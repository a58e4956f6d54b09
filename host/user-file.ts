// Files a user names on the command line (--key, --trust, --device, --fleet @FILE, scenarios,
// images, certificates) are read here, so that a missing file, a file that is not JSON or a file
// that is not a key reads as one sentence naming the file and what was expected, never as
// `ENOENT`, `No number after minus sign in JSON` or `error:1E08010C:DECODER routines::unsupported`.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseTrustStore, type TrustStore } from '../protocol/ota/trust.ts';

/** Why a user file could not be used; its message is the whole sentence. */
export class UserFileError extends Error {
  override name = 'UserFileError';
}

/** A file system error in words: "no such file", not ENOENT. */
export function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return (err as Error).message;
}

/** The bytes of `path`; `what` names it in the error ("trust store", "package"). */
export function readUserFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UserFileError(`cannot read the ${what} ${path}: ${fileProblem(err)}`);
  }
}

export function readUserText(path: string, what: string): string {
  return readUserFile(path, what).toString('utf8');
}

/** JSON text, already read from `path`, parsed; `expected` says what the file should have been. */
export function parseUserJson(text: string, path: string, expected: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserFileError(`${path} is not JSON (${(err as Error).message}); expected ${expected}`);
  }
}

/** `path` read and parsed as JSON; e.g. readUserJson('t.json', 'trust store', 'a trust store from `canopy ota pubkey`'). */
export function readUserJson(path: string, what: string, expected: string): unknown {
  return parseUserJson(readUserText(path, what), path, expected);
}

/** A PEM (or DER) private key from `path`; `expected` says which file the user should give. */
export function readPrivateKey(path: string, what: string, expected: string): KeyObject {
  const bytes = readUserFile(path, what);
  try {
    return createPrivateKey(bytes);
  } catch {
    throw new UserFileError(`${path} is ${isPublicKey(bytes) ? 'a public key, not a private key' : 'not a PEM private key'}; expected ${expected}`);
  }
}

/** The public half of the key in `path`, which may hold a public or a private key. */
export function readPublicKey(path: string, what: string, expected: string): KeyObject {
  const bytes = readUserFile(path, what);
  try {
    return createPublicKey(bytes);
  } catch {
    throw new UserFileError(`${path} is not a PEM key; expected ${expected}`);
  }
}

function isPublicKey(bytes: Buffer): boolean {
  try {
    return createPublicKey(bytes).type === 'public';
  } catch {
    return false;
  }
}

/** What `--trust` and `--ota-trust` should name. */
export const TRUST_STORE_EXPECTED = 'a trust store from `canopy ota pubkey`';

/** A trust store file (`canopy ota pubkey`), parsed and checked. */
export function readTrustStore(path: string): TrustStore {
  const json = readUserJson(path, 'trust store', TRUST_STORE_EXPECTED);
  try {
    return parseTrustStore(json);
  } catch (err) {
    throw new UserFileError(`${path} is not a trust store (${(err as Error).message}); expected ${TRUST_STORE_EXPECTED}`);
  }
}
