// The shared TLS/login flags (cli/broker-flags.ts): what each combination means, and the mistakes a
// user can make with them, each refused with a sentence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerConnection, PASSWORD_ENV } from '../cli/broker-flags.ts';
import { initCa, issue } from '../ident/fleet-ca.ts';
import { keyPem } from '../ident/certificates.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-broker-flags-'));
const quiet = () => {};
const ca = initCa(join(dir, 'ca'));
const caPem = join(dir, 'ca', 'ca.pem');
function client(name: string, o: { now?: Date; days?: number } = {}): { cert: string; key: string } {
  const issued = issue(ca, name, 'client', { keyType: 'p256', days: o.days ?? 30, now: o.now });
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  writeFileSync(files.cert, issued.cert.toString());
  writeFileSync(files.key, keyPem(issued.key));
  return files;
}
const tech = client('tech-1');
const other = client('other');

describe('broker flags', () => {
  it('mqtts:// defaults to 8883 with verification on', () => {
    const c = brokerConnection('monitor', 'mqtts://broker.local', { ca: caPem }, {}, quiet);
    expect(c.address).toMatchObject({ secure: true, host: 'broker.local', port: 8883 });
    expect(c.tls).toEqual({ ca: caPem, cert: undefined, key: undefined, rejectUnauthorized: true });
    expect(c.display).toBe('mqtts://broker.local:8883');
  });

  it('plain mqtt:// with no TLS flags stays plain', () => {
    const c = brokerConnection('monitor', 'mqtt://127.0.0.1:1883', {}, {}, quiet);
    expect(c.tls).toBeUndefined();
    expect(c.address.secure).toBe(false);
  });

  it('--insecure turns verification off and warns', () => {
    const lines: string[] = [];
    const c = brokerConnection('sim', 'mqtts://b:8883', { insecure: true }, {}, (l) => lines.push(l));
    expect(c.tls?.rejectUnauthorized).toBe(false);
    expect(lines.join('\n')).toMatch(/canopy sim: warning: --insecure/);
  });

  it('takes the password from --password-file, then the environment, and never shows it', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 's3cret\n');
    const c = brokerConnection('devices', 'mqtt://b', { username: 'tech', 'password-file': file }, {}, quiet);
    expect(c.address).toMatchObject({ username: 'tech', password: 's3cret' });
    expect(c.display).toBe('mqtt://tech@b:1883');
    expect(c.display).not.toContain('s3cret');
    const e = brokerConnection('devices', 'mqtt://b', { username: 'tech' }, { [PASSWORD_ENV]: 'fromenv' }, quiet);
    expect(e.address.password).toBe('fromenv');
  });

  it('refuses the mistakes with a sentence', () => {
    expect(() => brokerConnection('m', 'mqtt://b', { cert: 'c.pem' }, {}, quiet)).toThrow(/--cert needs --key/);
    expect(() => brokerConnection('m', 'mqtt://b', { key: 'k.pem' }, {}, quiet)).toThrow(/--key needs --cert/);
    expect(() => brokerConnection('m', 'mqtt://b', {}, { [PASSWORD_ENV]: 'x' }, quiet)).toThrow(/needs a user name/);
    expect(() => brokerConnection('m', 'mqtt://b', { username: 'u', 'password-file': join(dir, 'none') }, {}, quiet)).toThrow(/password file/);
    expect(() => brokerConnection('m', 'http://b', {}, {}, quiet)).toThrow(/scheme "http" is not supported/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => brokerConnection('m', 'mqtt://b', { username: 'u', 'password-file': join(dir, 'empty') }, {}, quiet)).toThrow(/is empty/);
  });

  it('checks the TLS files before connecting: each mistake a sentence naming the file', () => {
    const c = brokerConnection('ota push', 'mqtts://b', { ca: caPem, ...tech }, {}, quiet);
    expect(c.tls).toMatchObject({ ca: caPem, cert: tech.cert, key: tech.key, rejectUnauthorized: true });
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    expect(() => brokerConnection('m', 'mqtts://b', { ca: join(dir, 'junk.pem') }, {}, quiet)).toThrow(/junk\.pem is not a PEM certificate; expected the CA certificate/);
    expect(() => brokerConnection('m', 'mqtts://b', { ca: join(dir, 'nope.pem') }, {}, quiet)).toThrow(/cannot read the CA certificate .*nope\.pem: no such file/);
    expect(() => brokerConnection('m', 'mqtts://b', { cert: join(dir, 'junk.pem'), key: tech.key }, {}, quiet)).toThrow(/junk\.pem is not a PEM certificate; expected a client certificate/);
    expect(() => brokerConnection('m', 'mqtts://b', { cert: tech.cert, key: caPem }, {}, quiet)).toThrow(/ca\.pem is a public key, not a private key; expected the private key of .*tech-1\.pem/);
    expect(() => brokerConnection('m', 'mqtts://b', { cert: tech.cert, key: other.key }, {}, quiet)).toThrow(/other\.key is not the private key of the certificate .*tech-1\.pem/);
  });

  it('warns, on every run, about a client certificate the broker will refuse as expired', () => {
    const old = client('old', { days: 1, now: new Date(Date.now() - 10 * 86_400_000) });
    const lines: string[] = [];
    brokerConnection('sim', 'mqtts://b', { ca: caPem, ...old }, {}, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/canopy sim: warning: the client certificate .*old\.pem expired on \d{4}-.*the broker will refuse it/);
  });
});
