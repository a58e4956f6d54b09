// `canopy provision DEVICE-ID`: the device's key and client certificate from the fleet CA, and an
// NVS partition image with them, its settings and the OTA trust store, for `canopy flash`.
import { readTrustStore, readUserText } from '../../host/user-file.ts';
import { trustStoreJson } from '../../protocol/ota/trust.ts';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { keyTypeFlag } from './ca.ts';
import { caDirFlag, daysFlag, keyTypeFlagSpec } from './ca-specs.ts';
import { keyPem } from '../../ident/certificates.ts';
import { defaultCaDir, loadCa } from '../../ident/fleet-ca.ts';
import { ensureDir, refuseExisting, writeIdentityFile } from '../../ident/files.ts';
import { checkDeviceId, provisionDevice, ProvisionError } from '../../ident/provision.ts';
import { NvsError, parseNvsSize } from '../../host/nvs/writer.ts';
import { parseBrokerUrl } from '../../protocol/broker-url.ts';

const spec = verb({
  name: 'provision',
  forms: ['DEVICE-ID --broker URL [flags]'],
  description: [
    "Issues a device its key and client certificate (CN = DEVICE-ID) from the fleet CA, and an NVS",
    'partition image holding them, its settings and the OTA trust store, for `canopy flash`.',
  ].join('\n'),
  args: { 'DEVICE-ID': 'the device id: [A-Za-z0-9_-]{1,64}, also its certificate CN and MQTT user name' },
  flags: {
    broker: { type: 'string', value: 'URL', help: 'the broker the device connects to (mqtts://host:8883); no credentials in it' },
    'ca-dir': caDirFlag,
    out: { type: 'string', value: 'DIR', help: 'writes DIR/DEVICE-ID/: device.key (0600), device.pem, nvs.bin (0600, it holds the key) and, with --password, mqtt-password (0600). Default ./devices' },
    interval: { type: 'string', value: 'MS', help: 'telemetry interval override (intervalMs, 1000..86400000)' },
    keepalive: { type: 'string', value: 'S', help: 'MQTT keepalive override, seconds' },
    prefix: { type: 'string', value: 'P', help: 'topic prefix override' },
    password: { type: 'boolean', help: 'also a random MQTT password (user name = DEVICE-ID), for brokers that use them' },
    trust: { type: 'string', value: 'TRUST.json', help: 'the OTA trust store (`canopy ota pubkey`) the device checks updates with' },
    'broker-ca': { type: 'string', value: 'PEM', help: "the CA of the broker's certificate, if not the one built into the firmware" },
    'key-type': keyTypeFlagSpec("rsa2048: Moddable's TLS client signs with RSA only"),
    days: daysFlag("825, never past the CA's"),
    'nvs-size': { type: 'string', value: 'SIZE', help: "the nvs partition's size (default 0x6000, Moddable's partition table)" },
    force: { type: 'boolean', help: "replace this device's existing files (its old certificate stays valid)" },
    json: { type: 'boolean', help: 'print what was written as JSON (never a key or password)' },
  },
  examples: [
    'provision greenhouse-7 --broker mqtts://broker.example:8883 --trust trust.json',
    'provision greenhouse-8 --broker mqtts://broker.example:8883 --password --out devices/ --json',
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values, positionals } = parse(spec, args);
    if (positionals.length !== 1) throw new UsageError('give exactly one DEVICE-ID');
    const deviceId = positionals[0];
    try {
      checkDeviceId(deviceId, values.prefix);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.broker === undefined) throw new UsageError('--broker is required');
    try {
      parseBrokerUrl(values.broker);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let nvsSize: number;
    try {
      nvsSize = parseNvsSize(values['nvs-size'] ?? '0x6000');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const ca = loadCa(values['ca-dir'] ?? defaultCaDir());
    const opts = {
      deviceId,
      broker: values.broker,
      topicPrefix: values.prefix,
      intervalMs: values.interval === undefined ? undefined : intFlag('interval', values.interval, 0, 1000, 86_400_000),
      keepalive: values.keepalive === undefined ? undefined : intFlag('keepalive', values.keepalive, 0, 0, 65_535),
      password: values.password,
      otaTrust: values.trust === undefined ? undefined : JSON.stringify(trustStoreJson(readTrustStore(values.trust))),
      brokerCa: values['broker-ca'] === undefined ? undefined : readUserText(values['broker-ca'], 'broker CA'),
      keyType: keyTypeFlag(values['key-type'], 'rsa2048'),
      days: intFlag('days', values.days, 825, 1, 36500),
      nvsSize,
    };
    let device;
    try {
      device = provisionDevice(ca, opts);
    } catch (err) {
      if (err instanceof NvsError || err instanceof ProvisionError) throw new Error(err.message);
      throw err;
    }
    const dir = join(values.out ?? 'devices', deviceId);
    ensureDir(dir);
    const files = { key: join(dir, 'device.key'), cert: join(dir, 'device.pem'), nvs: join(dir, 'nvs.bin'), password: join(dir, 'mqtt-password') };
    const force = values.force;
    // Check every target first, so a refusal leaves no half-written device behind.
    writeAll([
      [files.key, keyPem(device.key), 0o600],
      [files.cert, device.cert.toString(), 0o644],
      [files.nvs, device.nvs, 0o600],
      ...(device.password === undefined ? [] : [[files.password, `${device.password}\n`, 0o600] as const]),
    ], force);
    const summary = {
      deviceId,
      certificate: { path: files.cert, serial: device.cert.serialNumber, fingerprint256: device.cert.fingerprint256, validTo: device.cert.validTo },
      key: files.key,
      nvs: { path: files.nvs, bytes: device.nvs.length, keys: device.items.map((i) => `${i.key}:${i.value.type}`) },
      passwordFile: device.password === undefined ? undefined : files.password,
    };
    if (values.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(`provisioned ${deviceId}: certificate CN=${deviceId} serial ${summary.certificate.serial}, valid until ${summary.certificate.validTo}`);
      console.log(`  ${files.nvs} (${device.nvs.length} bytes, NVS namespace "canopy": ${device.items.map((i) => i.key).join(', ')})`);
      console.log(`  ${files.cert}, ${files.key}${device.password === undefined ? '' : `, ${files.password}`}`);
      if (!/^(mqtts|ssl|tls):/i.test(values.broker)) console.log(`  note: ${values.broker} is not TLS; the certificate is only used over mqtts://`);
    }
    return 0;
  },
};

function writeAll(files: (readonly [string, string | Uint8Array, number])[], force: boolean | undefined): void {
  if (!force) refuseExisting(files.map(([path]) => path));
  for (const [path, data, mode] of files) writeIdentityFile(path, data, { mode, force });
}

export default command;
