// OTA hashing on the simulator's XS engine. The warning figure: the pure-TypeScript SHA-256
// (protocol/ota/sha256.ts, the reference the tests keep) in MB/s on XS, beside node:crypto; an
// ESP32 runs XS far slower still, which is why the firmware uses the SDK's native `crypt`. And the
// whole-image check of a 1.5 MB package as a simulated device makes it: the firmware's own
// modules under their names, canopy/crypto being node:crypto over the bridge, the image pushed
// through the PayloadChecker in 4 KiB reads as the installer's finish() reads flash.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Bridge } from '../host/xs/bridge.ts';
import { CryptoService } from '../host/xs/crypto-service.ts';
import { loadModuleGraph } from '../host/xs/module-graph.ts';
import { buildXsProgram } from '../host/xs/program.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { nodeHash } from '../host/crypto.ts';
import { checkPayload } from '../protocol/ota/chunks.ts';
import { decodeManifest } from '../protocol/ota/manifest.ts';
import { decodeEnvelope, parsePackage } from '../protocol/ota/package.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { pack } from '../ota/pack.ts';
import { syntheticImage } from './ota.bench.ts';
import { median, row, type BenchRow } from './harness.ts';

const PURE_BYTES = 512 * 1024;

const PROBE = `
import { sha256Hash } from 'canopy/crypto';
import { Sha256 } from 'protocol/ota/sha256';
import { PayloadChecker } from 'protocol/ota/chunks';
import { decodeManifest } from 'protocol/ota/manifest';
import { decodeEnvelope, parsePackage } from 'protocol/ota/package';
import { registerChannel } from 'device/platform/xs-bridge';
const ms = (t0) => new Uint8Array(new Float64Array([performance.now() - t0]).buffer);
let pkg;
registerChannel('load', (bytes) => void (pkg = parsePackage(bytes.slice())));
registerChannel('check', () => {
  const m = decodeManifest(decodeEnvelope(pkg.envelopeBytes).manifestBytes);
  const t0 = performance.now();
  const c = new PayloadChecker(m, pkg.table, sha256Hash);
  for (let at = 0; at < m.size; at += 4096) c.push(pkg.payload.subarray(at, Math.min(at + 4096, m.size)));
  c.finish();
  return ms(t0);
});
registerChannel('pure', () => {
  const data = new Uint8Array(${PURE_BYTES});
  const t0 = performance.now();
  new Sha256().update(data).digest();
  return ms(t0);
});
`;

const f64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);

export default async function xsCryptoBench(): Promise<BenchRow[]> {
  const image = syntheticImage(1_500_000);
  const pkg = pack(image, [signingKey(generateKeyPem('ES256'))], { seq: 1, vendor: 'acme', class: 'bench' });
  const program = buildXsProgram(loadModuleGraph(fileURLToPath(new URL('../manifest.json', import.meta.url)), 'xsnap'), {
    entry: 'bench/crypto-probe',
    extra: { 'bench/crypto-probe': PROBE },
    check: false, // the probe's imports are resolved by XS at load
  });
  const worker = new XsWorker({ name: 'bench-crypto' });
  try {
    const bridge = new Bridge(worker);
    const crypto = new CryptoService();
    bridge.handle('crypto', (p) => crypto.serve(p));
    await worker.evaluate(program.code);
    await bridge.call('load', pkg);
    const pureMs: number[] = [];
    const checkMs: number[] = [];
    for (let i = 0; i < 3; i++) pureMs.push(f64(await bridge.call('pure')));
    for (let i = 0; i < 5; i++) checkMs.push(f64(await bridge.call('check')));
    const nodeMbs = () => {
      const t0 = performance.now();
      createHash('sha256').update(image).digest();
      return image.length / 1e6 / ((performance.now() - t0) / 1000);
    };
    const nodeRate = median([nodeMbs(), nodeMbs(), nodeMbs(), nodeMbs(), nodeMbs()]);
    const parts = parsePackage(pkg);
    const m = decodeManifest(decodeEnvelope(parts.envelopeBytes).manifestBytes);
    const v8: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      checkPayload(parts.payload, m, parts.table, nodeHash);
      v8.push(performance.now() - t0);
    }
    const pureRate = PURE_BYTES / 1e6 / (median(pureMs) / 1000);
    return [
      row('xs: pure-TS SHA-256 on XS (warning: the firmware must not use it)', pureRate, 'MB/s', `node:crypto SHA-256 (${Math.round(nodeRate)} MB/s)`, nodeRate),
      row('xs: pure-TS SHA-256 over 1.5 MB on XS, from that rate (the old whole-image check hashed ~3 passes)', 1.5 / pureRate, 's', 'goal: never on a device', 1),
      row('ota on xs: whole-image check of 1.5 MB, canopy/crypto bridged to node:crypto (4 KiB reads)', median(checkMs), 'ms', 'the same check on V8 with node:crypto', median(v8)),
    ];
  } finally {
    await worker.close();
  }
}
