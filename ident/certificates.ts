// Fleet PKI: a self-signed fleet CA, and certificates it issues to devices (CN = device id, TLS
// client only), to people and tools (technician, monitor) and to the broker (TLS server, with its
// host names and addresses). Built with ident/der.ts, signed and read back with node:crypto.
//
// Key types. The CA defaults to P-256. Device keys default to RSA-2048 because Moddable's TLS client
// signs its CertificateVerify with RSA PKCS#1 v1.5 only (sdk/modules/crypt/ssl/ssl_handshake.js,
// certificateVerify.packetize: anything else throws "certificateVerify: unimplemented"); a P-256
// device key works with brokers and Node clients, but not with the Moddable firmware today.
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { bits, bool, explicit, implicit, namedBits, nul, octets, oid, seq, set, time, uint, utf8, type Der } from './der.ts';

export type KeyType = 'p256' | 'rsa2048';
export const KEY_TYPES: readonly KeyType[] = ['p256', 'rsa2048'];

export function generateKey(type: KeyType): KeyObject {
  const { privateKey } =
    type === 'p256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey;
}

export const keyPem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
export const keyDer = (key: KeyObject) => new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));

export type Usage = 'ca' | 'client' | 'server';

export interface IssueOptions {
  subjectCn: string;
  subjectKey: KeyObject;
  usage: Usage;
  days: number;
  /** Absent for the self-signed CA. */
  issuer?: { cert: X509Certificate; key: KeyObject };
  /** Server certificates: DNS names and IP addresses. */
  hosts?: string[];
  now?: Date;
}

const OID = {
  cn: '2.5.4.3',
  org: '2.5.4.10',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  rsaSha256: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const name = (cn: string) => seq(set(seq(oid(OID.org), utf8('Canopy'))), set(seq(oid(OID.cn), utf8(cn))));

const spkiOf = (key: KeyObject) => new Uint8Array((key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' }));

/** Key identifier: the first 160 bits of SHA-256 over the SubjectPublicKeyInfo (an identifier, not a check). */
const keyId = (key: KeyObject) => new Uint8Array(createHash('sha256').update(spkiOf(key)).digest().subarray(0, 20));

function signatureAlgorithm(key: KeyObject): Der {
  if (key.asymmetricKeyType === 'ec') return seq(oid(OID.ecdsaSha256));
  if (key.asymmetricKeyType === 'rsa') return seq(oid(OID.rsaSha256), nul());
  throw new Error(`cannot sign certificates with a ${key.asymmetricKeyType} key (P-256 or RSA only)`);
}

const extension = (id: string, critical: boolean, value: Der) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function hostName(h: string): Der {
  if (isIP(h) === 4) return implicit(7, new Uint8Array(h.split('.').map(Number)));
  if (isIP(h) === 6) throw new Error(`IPv6 addresses are not supported in certificates yet: ${h}`);
  if (!/^[A-Za-z0-9*]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h)) throw new Error(`"${h}" is not a host name or IPv4 address`);
  return implicit(2, Buffer.from(h, 'ascii'));
}

export function issueCertificate(o: IssueOptions): X509Certificate {
  const now = o.now ?? new Date();
  // Backdated a little so a device whose clock is a few minutes behind still accepts it.
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + o.days * 86_400_000);
  const signer = o.issuer?.key ?? o.subjectKey;
  const issuerName = o.issuer ? issuerNameOf(o.issuer.cert) : name(o.subjectCn);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive, and at most 20 bytes as RFC 5280 asks
  serial[0] |= 0x40; // never a leading zero byte, so every serial encodes to 16 bytes
  const subjectKey = o.subjectKey.type === 'private' ? createPublicKey(o.subjectKey) : o.subjectKey;
  const exts: Der[] = [
    extension(OID.basicConstraints, true, o.usage === 'ca' ? seq(bool(true), uint(0)) : seq()),
    // digitalSignature 0, keyEncipherment 2 (RSA key exchange), keyCertSign 5, cRLSign 6
    extension(OID.keyUsage, true, namedBits(o.usage === 'ca' ? [5, 6] : subjectKey.asymmetricKeyType === 'rsa' ? [0, 2] : [0])),
    extension(OID.subjectKeyId, false, octets(keyId(subjectKey))),
  ];
  if (o.usage !== 'ca') exts.push(extension(OID.extKeyUsage, false, seq(oid(o.usage === 'client' ? OID.clientAuth : OID.serverAuth))));
  if (o.issuer) exts.push(extension(OID.authorityKeyId, false, seq(implicit(0, keyId(o.issuer.key)))));
  if (o.usage === 'server') {
    if (!o.hosts?.length) throw new Error('a server certificate needs at least one host name or address');
    exts.push(extension(OID.subjectAltName, false, seq(...o.hosts.map(hostName))));
  }
  const algorithm = signatureAlgorithm(signer);
  const tbs = seq(
    explicit(0, uint(2)), // v3
    uint(serial),
    algorithm,
    issuerName,
    seq(time(notBefore), time(notAfter)),
    name(o.subjectCn),
    spkiOf(subjectKey),
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, signer);
  const cert = new X509Certificate(Buffer.from(seq(tbs, algorithm, bits(new Uint8Array(signature)))));
  if (!cert.verify(o.issuer ? createPublicKey(o.issuer.key) : subjectKey)) throw new Error('internal: the certificate just issued does not verify');
  return cert;
}

/** The issuer's subject Name, as its DER bytes inside its own certificate (copied, never re-encoded). */
function issuerNameOf(cert: X509Certificate): Der {
  // Certificate ::= SEQ { tbs SEQ { [0] version, serial, sigAlg, issuer, validity, subject, ... } }
  const raw = new Uint8Array(cert.raw);
  let at = enter(raw, 0); // into Certificate
  at = enter(raw, at); // into TBSCertificate
  for (let field = 0; field < 5; field++) at = skip(raw, at); // version, serial, sigAlg, issuer, validity
  return raw.subarray(at, skip(raw, at));
}

function header(b: Uint8Array, at: number): { body: number; end: number } {
  const first = b[at + 1];
  if (first < 0x80) return { body: at + 2, end: at + 2 + first };
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i];
  return { body: at + 2 + n, end: at + 2 + n + len };
}
const enter = (b: Uint8Array, at: number) => header(b, at).body;
const skip = (b: Uint8Array, at: number) => header(b, at).end;

export function commonName(cert: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
}

