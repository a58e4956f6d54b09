// The firmware reads what `canopy provision` writes: a real NVS image (ident/provision.ts, read
// back by the independent reader), served to the firmware's own storage module
// (device/platform/moddable/storage) through the XS engine's `preference` stand-in, with blobs
// as ArrayBuffer as Moddable's preference gives them on ESP32. The probe runs device/config's
// resolveConfig and readSecrets on XS, as runFirmware does at boot, and the TLS options the esp32
// socket gets from them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge, json } from '../host/xs/bridge.ts';
import { loadModuleGraph } from '../host/xs/module-graph.ts';
import { buildXsProgram } from '../host/xs/program.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { initCa, type FleetCa } from '../ident/fleet-ca.ts';
import { provisionDevice } from '../ident/provision.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { trustedKey, trustStoreJson } from '../protocol/ota/trust.ts';
import { readNvs, type ReadValue } from './support/nvs-reader.ts';
import { root } from './support/device-bundle.ts';

const probe = `
  import { preferenceStorage } from 'device/platform/moddable/storage';
  import { objectSource, readSecrets, resolveConfig, tlsSecureOptions } from 'device/config';
  import { registerChannel } from 'device/platform/xs-bridge';
  import { utf8Encode } from 'protocol/utf8';
  const hex = (b) => b === undefined ? undefined : Array.from(new Uint8Array(b), (x) => (x + 0x100).toString(16).slice(1)).join('');
  registerChannel('probe', () => {
    let out;
    try {
      const manifest = objectSource({ deviceId: 'compiled-in', broker: 'mqtt://10.0.0.1:1883', intervalMs: 10000 });
      const c = resolveConfig(manifest, preferenceStorage);
      const s = readSecrets(preferenceStorage);
      const secure = tlsSecureOptions(c.broker.host, s.tls);
      out = {
        deviceId: c.deviceId, broker: c.broker, intervalMs: c.intervalMs, keepalive: c.keepalive,
        cert: hex(s.tls.certificate), key: hex(s.tls.key), ca: hex(s.tls.ca), certIsBuffer: s.tls.certificate instanceof ArrayBuffer,
        trust: s.otaTrust,
        secure: { serverName: secure.serverName, certificate: hex(secure.certificate), clientCertificates: (secure.clientCertificates || []).map(hex), clientKey: hex(secure.clientKey) },
      };
    } catch (err) {
      out = { error: String(err) };
    }
    return utf8Encode(JSON.stringify(out));
  });
`;

type Nvs = Map<string, ReadValue>;
let dir: string;
let ca: FleetCa;
let trustJson: string;

/** Runs the probe on XS against `nvs` as the device's NVS namespace "canopy". */
async function boot(nvs: Nvs): Promise<Record<string, unknown>> {
  const graph = loadModuleGraph(join(root, 'manifest.json'), 'xsnap');
  const program = buildXsProgram(graph, { entry: 'test/nvs-probe', extra: { 'test/nvs-probe': probe } });
  const worker = new XsWorker({ name: 'nvs-probe' });
  const bridge = new Bridge(worker);
  bridge.handle('storage', (p) => {
    const req = json.decode<{ op: string; domain: string; key: string }>(p);
    if (req.domain !== 'canopy' || req.op !== 'get') throw new Error(`unexpected storage ${req.op} ${req.domain}/${req.key}`);
    const v = nvs.get(req.key);
    if (!v) return json.encode({});
    return json.encode(v.type === 'blob' || v.type === 'blob-v1' ? { bytes: v.value.toString('hex') } : { value: v.value });
  });
  try {
    await worker.evaluate(program.code);
    return json.decode(await bridge.call('probe', new Uint8Array(0)));
  } finally {
    await worker.kill();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-nvs-probe-'));
  ca = initCa(join(dir, 'ca'));
  trustJson = JSON.stringify(trustStoreJson({ threshold: 1, keys: [trustedKey(signingKey(generateKeyPem('ES256')).spki)] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the firmware reads its provisioned NVS on the XS engine', () => {
  it('identity, broker, login, intervals, the TLS client certificate and key, the broker CA and the OTA trust store', async () => {
    const device = provisionDevice(ca, {
      deviceId: 'greenhouse-7', broker: 'mqtts://broker.local:8883', intervalMs: 30_000, keepalive: 45, password: true,
      otaTrust: trustJson, brokerCa: ca.cert.toString(), keyType: 'p256', nvsSize: 0x6000,
    });
    const nvs = readNvs(device.nvs).get('canopy')!;
    const got = await boot(nvs);
    const blob = (k: string) => (nvs.get(k) as { value: Buffer }).value.toString('hex');
    expect(got).toEqual({
      deviceId: 'greenhouse-7',
      broker: { host: 'broker.local', port: 8883, secure: true, username: 'greenhouse-7', password: device.password },
      intervalMs: 30_000,
      keepalive: 45,
      cert: Buffer.from(device.cert.raw).toString('hex'),
      key: blob('tlsKey'),
      ca: Buffer.from(ca.cert.raw).toString('hex'),
      certIsBuffer: true,
      trust: JSON.parse(trustJson),
      secure: { serverName: 'broker.local', certificate: Buffer.from(ca.cert.raw).toString('hex'), clientCertificates: [Buffer.from(device.cert.raw).toString('hex')], clientKey: blob('tlsKey') },
    });
  });

  it('the manifest config is the fallback for every key NVS does not hold', async () => {
    const got = await boot(new Map());
    expect(got).toMatchObject({ deviceId: 'compiled-in', broker: { host: '10.0.0.1', port: 1883 }, intervalMs: 10_000 });
    // JSON drops undefined: none of the secrets is there.
    expect(Object.keys(got).filter((k) => ['cert', 'key', 'ca', 'trust'].includes(k))).toEqual([]);
    expect(got.secure).toEqual({ serverName: '10.0.0.1', clientCertificates: [] });
  });

  it('a certificate without its key, or a trust store that is not JSON, stops the boot naming the key (never its value)', async () => {
    const cert: ReadValue = { type: 'blob', value: Buffer.from('3082', 'hex'), chunks: 1 };
    expect((await boot(new Map([['tlsCert', cert]]))).error).toBe('ConfigError: tlsCert is provisioned without tlsKey: a client certificate needs its key');
    const bad = (await boot(new Map<string, ReadValue>([['otaTrust', { type: 'str', value: 'secret-not-json{' }]]))).error;
    expect(bad).toBe('ConfigError: otaTrust from storage is not JSON');
  });
});
