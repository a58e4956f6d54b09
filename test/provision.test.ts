// `canopy ca` and `canopy provision`: the fleet CA, device certificates, and the NVS image the
// firmware reads its identity and settings from, read back with the independent NVS reader and
// checked by the firmware's own config resolver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canopy } from './support/run-canopy.ts';
import { readNvs } from './support/nvs-reader.ts';
import { objectSource, resolveConfig } from '../device/config.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { trustedKey, trustStoreJson } from '../protocol/ota/trust.ts';

let dir: string;
let caDir: string;
let trustPath: string;

const mode = (p: string) => statSync(p).mode & 0o777;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-provision-'));
  caDir = join(dir, 'ca');
  expect((await canopy('ca', 'init', '--ca-dir', caDir)).code).toBe(0);
  trustPath = join(dir, 'trust.json');
  const k = signingKey(generateKeyPem('ES256'));
  writeFileSync(trustPath, JSON.stringify(trustStoreJson({ threshold: 1, keys: [trustedKey(k.spki)] })));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('canopy ca init', () => {
  it('writes a CA key with mode 0600 and a self-signed CA certificate', () => {
    expect(mode(join(caDir, 'ca.key'))).toBe(0o600);
    const ca = new X509Certificate(readFileSync(join(caDir, 'ca.pem')));
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.checkPrivateKey(createPrivateKey(readFileSync(join(caDir, 'ca.key'))))).toBe(true);
  });

  it('refuses to replace an existing CA without --force (exit 1, says why) and leaves it untouched', async () => {
    const before = readFileSync(join(caDir, 'ca.key'), 'utf8');
    const r = await canopy('ca', 'init', '--ca-dir', caDir);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy ca init: a fleet CA already exists in ${caDir}; replacing it locks out every device it issued (give --force to replace it)`);
    expect(readFileSync(join(caDir, 'ca.key'), 'utf8')).toBe(before);
  });

  it('replaces it with --force, still 0600', async () => {
    const other = join(dir, 'ca-forced');
    expect((await canopy('ca', 'init', '--ca-dir', other)).code).toBe(0);
    const before = readFileSync(join(other, 'ca.key'), 'utf8');
    expect((await canopy('ca', 'init', '--ca-dir', other, '--force')).code).toBe(0);
    expect(readFileSync(join(other, 'ca.key'), 'utf8')).not.toBe(before);
    expect(mode(join(other, 'ca.key'))).toBe(0o600);
  });

  it('refuses an unknown key type and an unknown verb with exit 2', async () => {
    const r = await canopy('ca', 'init', '--ca-dir', join(dir, 'x'), '--key-type', 'dsa');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^canopy ca init: --key-type must be p256 or rsa2048, got "dsa"/);
    expect((await canopy('ca', 'mint')).err).toMatch(/^canopy ca: unknown verb "mint"/);
  });

  it('refuses a bad or missing NAME, --host on a client, and a missing CA for ca client', async () => {
    expect(await canopy('ca', 'client', 'eve\ntopic readwrite #', '--ca-dir', caDir)).toMatchObject({ code: 2, err: expect.stringMatching(/^canopy ca client: NAME "eve\ntopic readwrite #" must match/) });
    expect(await canopy('ca', 'client', '--ca-dir', caDir)).toMatchObject({ code: 2, err: expect.stringMatching(/^canopy ca client: give exactly one NAME/) });
    expect(await canopy('ca', 'client', 'tech', '--host', 'h', '--ca-dir', caDir)).toMatchObject({ code: 2, err: expect.stringMatching(/--host is for server certificates/) });
    expect(await canopy('ca', 'client', 'tech', '--ca-dir', join(dir, 'none'))).toMatchObject({ code: 1, err: expect.stringMatching(/^canopy ca client: no fleet CA in .*none/) });
  });

  it('issues a server certificate for the broker that OpenSSL verifies against the CA', async () => {
    const r = await canopy('ca', 'server', 'broker', '--host', '127.0.0.1', '--host', 'broker.local', '--ca-dir', caDir, '--out', join(dir, 'broker'));
    expect(r.code).toBe(0);
    const cert = new X509Certificate(readFileSync(join(dir, 'broker', 'broker.pem')));
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('broker.local')).toBe('broker.local');
    expect(mode(join(dir, 'broker', 'broker.key'))).toBe(0o600);
    execFileSync('openssl', ['verify', '-CAfile', join(caDir, 'ca.pem'), '-purpose', 'sslserver', join(dir, 'broker', 'broker.pem')]);
    expect((await canopy('ca', 'server', 'broker2', '--ca-dir', caDir)).err).toMatch(/a server certificate needs --host/);
  });
});

describe('canopy provision', () => {
  let out: string;
  let printed: string;

  beforeAll(async () => {
    out = join(dir, 'devices');
    const r = await canopy('provision', 'greenhouse-7', '--broker', 'mqtts://broker.local:8883', '--ca-dir', caDir, '--out', out, '--interval', '30000', '--keepalive', '45', '--password', '--trust', trustPath, '--broker-ca', join(caDir, 'ca.pem'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    printed = r.out;
  });

  it('issues a client certificate with CN = device id, signed by the fleet CA, with its key 0600', () => {
    const ca = new X509Certificate(readFileSync(join(caDir, 'ca.pem')));
    const cert = new X509Certificate(readFileSync(join(out, 'greenhouse-7', 'device.pem')));
    expect(cert.subject).toMatch(/CN=greenhouse-7$/m);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // TLS client only
    const key = createPrivateKey(readFileSync(join(out, 'greenhouse-7', 'device.key')));
    expect(key.asymmetricKeyType).toBe('rsa'); // Moddable's TLS client can only sign with RSA
    expect(cert.checkPrivateKey(key)).toBe(true);
    for (const f of ['device.key', 'nvs.bin', 'mqtt-password']) expect(mode(join(out, 'greenhouse-7', f))).toBe(0o600);
    execFileSync('openssl', ['verify', '-CAfile', join(caDir, 'ca.pem'), '-purpose', 'sslclient', join(out, 'greenhouse-7', 'device.pem')]);
  });

  it('writes an NVS image whose "canopy" namespace holds typed keys the firmware config accepts', () => {
    const nvs = readNvs(readFileSync(join(out, 'greenhouse-7', 'nvs.bin')));
    const ns = nvs.get('canopy')!;
    expect(ns.get('deviceId')).toEqual({ type: 'str', value: 'greenhouse-7' });
    expect(ns.get('broker')).toEqual({ type: 'str', value: 'mqtts://broker.local:8883' });
    expect(ns.get('intervalMs')).toEqual({ type: 'i32', value: 30_000 });
    expect(ns.get('keepalive')).toEqual({ type: 'i32', value: 45 });
    expect(ns.get('mqttUsername')).toEqual({ type: 'str', value: 'greenhouse-7' });
    const password = readFileSync(join(out, 'greenhouse-7', 'mqtt-password'), 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(ns.get('mqttPassword')).toEqual({ type: 'str', value: password });
    // Certificates and keys are blobs (preference.get returns an ArrayBuffer), the very DER on disk.
    const certDer = new X509Certificate(readFileSync(join(out, 'greenhouse-7', 'device.pem'))).raw;
    expect(ns.get('tlsCert')).toMatchObject({ type: 'blob', value: certDer });
    const keyDer = createPrivateKey(readFileSync(join(out, 'greenhouse-7', 'device.key'))).export({ type: 'pkcs8', format: 'der' });
    expect(ns.get('tlsKey')).toMatchObject({ type: 'blob', value: keyDer });
    expect(ns.get('tlsCa')).toMatchObject({ type: 'blob', value: new X509Certificate(readFileSync(join(caDir, 'ca.pem'))).raw });
    const trust = ns.get('otaTrust');
    expect(trust?.type).toBe('str');
    expect(JSON.parse(trust!.value as string)).toEqual(JSON.parse(readFileSync(trustPath, 'utf8')));
    // What device/config.ts makes of it, with preference's types as they come out of NVS.
    const overrides = Object.fromEntries([...ns].map(([k, v]) => [k, v.value]));
    const config = resolveConfig(objectSource({}), objectSource(overrides));
    expect(config).toMatchObject({
      deviceId: 'greenhouse-7',
      broker: { secure: true, host: 'broker.local', port: 8883, username: 'greenhouse-7', password },
      intervalMs: 30_000,
      keepalive: 45,
    });
  });

  it('prints where things went, and never the key or the password (--json neither)', async () => {
    const dirOf = join(out, 'greenhouse-7');
    const secrets = [readFileSync(join(dirOf, 'mqtt-password'), 'utf8').trim(), ...readFileSync(join(dirOf, 'device.key'), 'utf8').split('\n').slice(1, 4)];
    const r = await canopy('provision', 'json-dev', '--broker', 'mqtts://b:8883', '--ca-dir', caDir, '--out', out, '--password', '--json', '--key-type', 'p256');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ deviceId: 'json-dev', passwordFile: join(out, 'json-dev', 'mqtt-password') });
    const own = [readFileSync(join(out, 'json-dev', 'mqtt-password'), 'utf8').trim(), ...readFileSync(join(out, 'json-dev', 'device.key'), 'utf8').split('\n').slice(1, 3)];
    for (const s of [...secrets, ...own]) {
      expect(printed).not.toContain(s);
      expect(r.out).not.toContain(s);
    }
    expect(printed).toContain(join(dirOf, 'nvs.bin'));
  });

  it('refuses to overwrite a provisioned device without --force, writing nothing', async () => {
    const before = readFileSync(join(out, 'greenhouse-7', 'device.key'), 'utf8');
    const r = await canopy('provision', 'greenhouse-7', '--broker', 'mqtts://broker.local:8883', '--ca-dir', caDir, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^canopy provision: .*greenhouse-7\/device\.key, .*device\.pem, .*nvs\.bin already exist \(give --force to replace\)$/);
    expect(readFileSync(join(out, 'greenhouse-7', 'device.key'), 'utf8')).toBe(before);
  });

  it('refuses a missing CA with exit 1 and says how to make one', async () => {
    const r = await canopy('provision', 'dev-1', '--broker', 'mqtts://b:8883', '--ca-dir', join(dir, 'no-ca'), '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy provision: no fleet CA in ${join(dir, 'no-ca')} (ca.key and ca.pem): run \`canopy ca init\` first, or give --ca-dir`);
    expect(existsSync(join(out, 'dev-1'))).toBe(false);
  });

  it('refuses a bad device id, a missing or bad broker, broker credentials and bad numbers with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['dev/1', '--broker', 'mqtts://b'], /device id "dev\/1" must match \[A-Za-z0-9_-\]\{1,64\}/],
      [['dev+', '--broker', 'mqtts://b'], /device id "dev\+" must match/],
      [['dev-1'], /--broker is required/],
      [['dev-1', '--broker', 'http://b'], /scheme "http" is not supported/],
      [['dev-1', '--broker', 'mqtts://b', '--interval', '10'], /--interval must be between 1000 and 86400000, got 10/],
      [['dev-1', '--broker', 'mqtts://b', '--nvs-size', 'lots'], /NVS size must be/],
      [['a', 'b', '--broker', 'mqtts://b'], /give exactly one DEVICE-ID/],
    ];
    for (const [args, message] of cases) {
      const r = await canopy('provision', ...args, '--ca-dir', caDir, '--out', out);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/^canopy provision: /);
    }
    const creds = await canopy('provision', 'dev-1', '--broker', 'mqtts://u:secret@b', '--ca-dir', caDir, '--out', out);
    expect(creds.code).toBe(1);
    expect(creds.err).toBe('canopy provision: the broker URL must not hold a user name or password; give --password to issue one');
  });

  it('refuses an unwritable output directory with exit 1, naming it', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await canopy('provision', 'dev-1', '--broker', 'mqtts://b:8883', '--ca-dir', caDir, '--out', file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy provision: cannot create the directory ${join(file, 'dev-1')}: ENOTDIR`);
  });

  it('refuses a bad or missing trust store and a partition smaller than NVS allows, with exit 1', async () => {
    writeFileSync(join(dir, 'bad-trust.json'), '{"version":1,"keys":[]}');
    const t = await canopy('provision', 'dev-1', '--broker', 'mqtts://b:8883', '--ca-dir', caDir, '--out', out, '--trust', join(dir, 'bad-trust.json'));
    expect(t.code).toBe(1);
    expect(t.err).toBe(`canopy provision: ${join(dir, 'bad-trust.json')} is not a trust store (trust store has no keys); expected a trust store from \`canopy ota pubkey\``);
    const missing = await canopy('provision', 'dev-1', '--broker', 'mqtts://b:8883', '--ca-dir', caDir, '--out', out, '--trust', join(dir, 'nope.json'));
    expect(missing).toMatchObject({ code: 1, err: `canopy provision: cannot read the trust store ${join(dir, 'nope.json')}: no such file` });
    const small = await canopy('provision', 'dev-1', '--broker', 'mqtts://b:8883', '--ca-dir', caDir, '--out', out, '--nvs-size', '0x2000');
    expect(small).toMatchObject({ code: 1, err: 'canopy provision: NVS partition size must be a multiple of 4096 and at least 12288 bytes, got 8192' });
    expect(existsSync(join(out, 'dev-1'))).toBe(false);
  });
});
