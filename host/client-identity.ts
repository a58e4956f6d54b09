// TLS identity files a user names (--ca, --cert/--key, `canopy sim --identities DIR`), read and
// checked before any connection is tried: a file that is not a certificate, a key that does not
// belong to its certificate or a folder with no provisioned device reads as one sentence naming
// the file, not as an OpenSSL error thrown out of a socket callback later.
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileProblem, readPrivateKey, readUserFile, UserFileError } from './user-file.ts';

export interface ClientIdentity {
  /** PEM bytes as read: what node:tls takes as `cert` and `key`. */
  cert: Buffer;
  key: Buffer;
  /** The certificate's subject CN: the MQTT user name under mosquitto's use_identity_as_username. */
  commonName: string | undefined;
  validTo: Date;
  validFrom: Date;
}

function parseCertificate(bytes: Buffer, path: string, expected: string): X509Certificate {
  try {
    return new X509Certificate(bytes);
  } catch {
    throw new UserFileError(`${path} is not a PEM certificate; expected ${expected}`);
  }
}

/** A CA file: one or more PEM certificates. */
export function readCaFile(path: string): Buffer {
  const bytes = readUserFile(path, 'CA certificate');
  parseCertificate(bytes, path, "the CA certificate the broker's certificate chains to (e.g. ca/ca.pem from `canopy ca init`)");
  return bytes;
}

/** A client certificate and its private key, checked to belong together. */
export function readClientIdentity(certPath: string, keyPath: string): ClientIdentity {
  const cert = readUserFile(certPath, 'client certificate');
  const x509 = parseCertificate(cert, certPath, 'a client certificate (PEM) such as `canopy ca client` or `canopy provision` write');
  const keyObject = readPrivateKey(keyPath, 'client key', `the private key of ${certPath}`);
  const key = readUserFile(keyPath, 'client key');
  if (!x509.checkPrivateKey(keyObject)) throw new UserFileError(`${keyPath} is not the private key of the certificate ${certPath}`);
  return {
    cert,
    key,
    commonName: /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1],
    validTo: new Date(x509.validTo),
    validFrom: new Date(x509.validFrom),
  };
}

/** A sentence when the certificate is outside its validity at `now` (the broker will refuse it), else undefined. */
export function validityProblem(id: ClientIdentity, path: string, now = new Date()): string | undefined {
  if (now > id.validTo) return `the client certificate ${path} expired on ${id.validTo.toISOString()}; the broker will refuse it (issue a new one)`;
  if (now < id.validFrom) return `the client certificate ${path} is not valid before ${id.validFrom.toISOString()}; the broker will refuse it (check this machine's clock)`;
  return undefined;
}

/** One device as `canopy provision --out DIR` left it: DIR/ID/device.pem, device.key, maybe mqtt-password. */
export interface ProvisionedIdentity {
  id: string;
  identity: ClientIdentity;
  /** The MQTT password `provision --password` issued (user name = id). */
  password?: string;
}

/**
 * Every device under DIR, by id (sorted). A folder entry without device.pem is not a device and is
 * skipped; one with device.pem but a bad or missing key is an error naming it, as is a certificate
 * whose CN is not its folder's name (the broker would take it for another device).
 */
export function readProvisionedDevices(dir: string): ProvisionedIdentity[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UserFileError(`the identities folder ${dir} is a file; give the folder \`canopy provision --out\` wrote`);
    names = readdirSync(dir).sort();
  } catch (err) {
    if (err instanceof UserFileError) throw err;
    throw new UserFileError(`cannot read the identities folder ${dir}: ${fileProblem(err)}`);
  }
  const out: ProvisionedIdentity[] = [];
  for (const id of names) {
    const certPath = join(dir, id, 'device.pem');
    if (!existsSync(certPath)) continue;
    const identity = readClientIdentity(certPath, join(dir, id, 'device.key'));
    if (identity.commonName !== id) {
      throw new UserFileError(`${certPath} was issued to "${identity.commonName ?? '(no CN)'}", not to the device "${id}" its folder names`);
    }
    const passwordPath = join(dir, id, 'mqtt-password');
    const password = existsSync(passwordPath) ? readUserFile(passwordPath, 'MQTT password').toString('utf8').split(/\r?\n/)[0] : undefined;
    out.push({ id, identity, ...(password ? { password } : {}) });
  }
  if (out.length === 0) {
    throw new UserFileError(`${dir} holds no provisioned device (expected ${join(dir, 'ID', 'device.pem')} and device.key, as \`canopy provision ID --out ${dir}\` writes)`);
  }
  return out;
}
