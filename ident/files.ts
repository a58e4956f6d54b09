// Writing identity material: private keys and anything holding one (an NVS image with a device key,
// a password) are created 0600 under a temporary name and renamed into place, so they are never
// readable by others, not even while a looser file is being replaced; nothing is overwritten
// unless the caller says so.
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class IdentityFileError extends Error {
  override name = 'IdentityFileError';
}

export interface WriteOptions {
  /** 0o600 for secrets; 0o644 for certificates. */
  mode: number;
  /** Replace an existing file. */
  force?: boolean;
}

export function ensureDir(dir: string, mode = 0o700): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (err) {
    throw new IdentityFileError(`cannot create the directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Refuses before anything is written when one of `paths` exists, so a refusal leaves nothing half-replaced. */
export function refuseExisting(paths: string[]): void {
  const taken = paths.filter((p) => existsSync(p));
  if (taken.length) throw new IdentityFileError(`${taken.join(', ')} already exist${taken.length === 1 ? 's' : ''} (give --force to replace)`);
}

export function writeIdentityFile(path: string, data: Uint8Array | string, o: WriteOptions): void {
  if (!o.force) refuseExisting([path]);
  ensureDir(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: o.mode, flag: 'wx' });
    chmodSync(tmp, o.mode); // the umask may have narrowed it differently
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new IdentityFileError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
