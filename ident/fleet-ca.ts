// The fleet CA on disk: DIR/ca.key (PKCS#8 PEM, 0600) and DIR/ca.pem. It signs every device's
// client certificate, and the people's, tools' and broker's; the broker trusts ca.pem.
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readPrivateKey, readUserFile } from '../host/user-file.ts';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { generateKey, issueCertificate, keyPem, type KeyType, type Usage } from './certificates.ts';
import { ensureDir, writeIdentityFile } from './files.ts';

export class FleetCaError extends Error {
  override name = 'FleetCaError';
}

export interface FleetCa {
  dir: string;
  cert: X509Certificate;
  key: KeyObject;
}

/** Outside any project checkout by default, so a CA key is not committed by accident. */
export const defaultCaDir = () => join(homedir(), '.canopy', 'ca');

export const caFiles = (dir: string) => ({ key: join(dir, 'ca.key'), cert: join(dir, 'ca.pem') });

export interface InitOptions {
  name?: string;
  days?: number;
  keyType?: KeyType;
  force?: boolean;
  now?: Date;
}

export function initCa(dir: string, o: InitOptions = {}): FleetCa {
  const files = caFiles(dir);
  if (!o.force && (existsSync(files.key) || existsSync(files.cert))) {
    throw new FleetCaError(`a fleet CA already exists in ${dir}; replacing it locks out every device it issued (give --force to replace it)`);
  }
  ensureDir(dir);
  const key = generateKey(o.keyType ?? 'p256');
  const cert = issueCertificate({ subjectCn: o.name ?? 'Canopy fleet CA', subjectKey: key, usage: 'ca', days: o.days ?? 3650, now: o.now });
  writeIdentityFile(files.key, keyPem(key), { mode: 0o600, force: o.force });
  writeIdentityFile(files.cert, cert.toString(), { mode: 0o644, force: o.force });
  return { dir, cert, key };
}

export function loadCa(dir: string, now = new Date()): FleetCa {
  const files = caFiles(dir);
  if (!existsSync(files.key) || !existsSync(files.cert)) {
    throw new FleetCaError(`no fleet CA in ${dir} (ca.key and ca.pem): run \`canopy ca init\` first, or give --ca-dir`);
  }
  let key: KeyObject;
  let cert: X509Certificate;
  try {
    key = readPrivateKey(files.key, 'fleet CA key', 'the ca.key `canopy ca init` wrote');
  } catch (err) {
    throw new FleetCaError((err as Error).message);
  }
  let pem: Buffer;
  try {
    pem = readUserFile(files.cert, 'fleet CA certificate');
  } catch (err) {
    throw new FleetCaError((err as Error).message);
  }
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new FleetCaError(`${files.cert} is not a PEM certificate; expected the ca.pem \`canopy ca init\` wrote`);
  }
  if (!cert.ca) throw new FleetCaError(`${files.cert} is not a CA certificate`);
  if (!cert.checkPrivateKey(key)) throw new FleetCaError(`${files.key} is not the key of ${files.cert}`);
  if (new Date(cert.validTo) <= now) throw new FleetCaError(`the fleet CA expired on ${cert.validTo}`);
  return { dir, cert, key };
}

export interface Issued {
  key: KeyObject;
  cert: X509Certificate;
}

/** A key and a certificate signed by the CA; never valid past the CA itself. */
export function issue(ca: FleetCa, cn: string, usage: Exclude<Usage, 'ca'>, o: { keyType: KeyType; days: number; hosts?: string[]; now?: Date }): Issued {
  const now = o.now ?? new Date();
  const left = Math.floor((new Date(ca.cert.validTo).getTime() - now.getTime()) / 86_400_000);
  const key = generateKey(o.keyType);
  const cert = issueCertificate({ subjectCn: cn, subjectKey: key, usage, days: Math.min(o.days, left), issuer: { cert: ca.cert, key: ca.key }, hosts: o.hosts, now });
  if (!cert.checkIssued(ca.cert) || !cert.verify(createPublicKey(ca.key))) throw new Error('internal: issued certificate does not chain to the CA');
  return { key, cert };
}
