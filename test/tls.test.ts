// The session over TLS with a CA and a client certificate, against aedes behind node:tls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import { Session } from '../protocol/session/session.ts';
import { SessionDriver } from '../host/transport.ts';
import { waitFor } from './support/clients.ts';

let dir: string;
let server: Server;
let aedes: Aedes;
let port: number;
const clientCns: string[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all made for this run. */
function makePki(): void {
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=canopy test CA');
  for (const name of ['server', 'client', 'other-ca']) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  }
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  openssl('x509', '-req', '-in', 'other-ca.csr', '-signkey', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-tls-'));
  makePki();
  aedes = new Aedes();
  await aedes.listen();
  server = createServer(
    {
      key: readFileSync(join(dir, 'server.key')),
      cert: readFileSync(join(dir, 'server.pem')),
      ca: readFileSync(join(dir, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket: TLSSocket) => {
      clientCns.push(String(socket.getPeerCertificate().subject?.CN));
      aedes.handle(socket);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS transport', () => {
  it('connects with a CA and a client certificate and round-trips a QoS 1 message', async () => {
    const driver = new SessionDriver(new Session({ clientId: 'tls-dev', keepalive: 5 }), `mqtts://127.0.0.1:${port}`, {
      tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') },
    });
    const connected = waitFor(driver, (e) => e.type === 'connected', 10_000, 'CONNACK over TLS');
    driver.start();
    await connected;
    expect(clientCns).toContain('client');
    const subscribed = waitFor(driver, (e) => e.type === 'subscribed', 5000, 'SUBACK');
    driver.subscribe([{ topic: 'tls/echo', qos: 1 }]);
    await subscribed;
    const got = waitFor(driver, (e) => e.type === 'message', 5000, 'echo');
    driver.publish('tls/echo', new Uint8Array([1, 2, 3]), { qos: 1 });
    expect(await got).toMatchObject({ topic: 'tls/echo', payload: new Uint8Array([1, 2, 3]) });
    await driver.stop();
  });

  it('refuses a broker whose certificate is not signed by the given CA, and says so', async () => {
    const driver = new SessionDriver(new Session({ clientId: 'tls-bad', keepalive: 5 }), `mqtts://127.0.0.1:${port}`, {
      tls: { ca: join(dir, 'other-ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') },
    });
    const lost = waitFor(driver, (e) => e.type === 'connection-lost', 10_000, 'TLS failure');
    driver.start();
    expect(await lost).toMatchObject({ reason: expect.stringMatching(/certificate/i) });
    driver.kill();
  });

  it('names a missing certificate file', () => {
    expect(() => new SessionDriver(new Session({ clientId: 'x' }), 'mqtts://127.0.0.1:1', { tls: { ca: join(dir, 'nope.pem') } })).toThrow(
      /cannot read the CA certificate .*nope\.pem: no such file/,
    );
  });
});
