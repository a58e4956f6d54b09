// The shared TLS/login flags (cli/broker-flags.ts): what each combination means, and the mistakes a
// user can make with them, each refused with a sentence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerConnection, PASSWORD_ENV } from '../cli/broker-flags.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-broker-flags-'));
const quiet = () => {};

describe('broker flags', () => {
  it('mqtts:// defaults to 8883 with verification on', () => {
    const c = brokerConnection('monitor', 'mqtts://broker.local', { ca: 'ca.pem' }, {}, quiet);
    expect(c.address).toMatchObject({ secure: true, host: 'broker.local', port: 8883 });
    expect(c.tls).toEqual({ ca: 'ca.pem', cert: undefined, key: undefined, rejectUnauthorized: true });
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
});
