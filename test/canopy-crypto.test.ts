// canopy/crypto on the simulator's XS engine: the module the simulated firmware imports under the
// firmware's name, backed by node:crypto over the bridge (host/xs/crypto-service.ts). It must give
// the pure-TypeScript reference's digests and verdicts (protocol/ota/sha256.ts, p256.ts), including
// the signatures the SDK's ECDSA would not refuse on its own (r = 0, s = 0, r ≥ n, a key off the curve).
import { randomBytes, sign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge } from '../host/xs/bridge.ts';
import { CryptoService } from '../host/xs/crypto-service.ts';
import { loadModuleGraph } from '../host/xs/module-graph.ts';
import { buildXsProgram } from '../host/xs/program.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { ALG_EDDSA, ALG_ES256, sigStructure } from '../protocol/ota/cose.ts';
import { edKey, release } from './ota-support.ts';

const manifest = fileURLToPath(new URL('../manifest.json', import.meta.url));

// A probe module in the simulator's build: hashes in uneven pieces and verifies with both the
// platform's canopy/crypto and the pure reference.
const PROBE = `
import { sha256Hash, signatureVerifier } from 'canopy/crypto';
import { Sha256 } from 'protocol/ota/sha256';
import { pureVerifier } from 'protocol/ota/verifier';
import { registerChannel } from 'device/platform/xs-bridge';
registerChannel('hash', (bytes) => {
  const a = sha256Hash(), b = new Sha256();
  for (let at = 0, step = 1; at < bytes.length || at === 0; at += step, step = step * 7 + 3) {
    const piece = bytes.subarray(at, at + step);
    a.update(piece);
    b.update(piece);
    if (at + step >= bytes.length) break;
  }
  const out = new Uint8Array(64);
  out.set(a.digest(), 0);
  out.set(b.digest(), 32);
  return out;
});
registerChannel('verify', (p) => {
  const alg = p[0] === 1 ? ${ALG_ES256} : ${ALG_EDDSA};
  const key = p.subarray(2, 2 + p[1]);
  const sig = p.subarray(3 + p[1], 3 + p[1] + p[2 + p[1]]);
  const message = p.subarray(3 + p[1] + p[2 + p[1]]);
  return Uint8Array.of(signatureVerifier.verify(alg, key, message, sig) ? 1 : 0, pureVerifier.verify(alg, key, message, sig) ? 1 : 0,
    signatureVerifier.supports(alg) ? 1 : 0);
});
`;

describe('canopy/crypto on the XS simulator (node:crypto over the bridge)', () => {
  let worker: XsWorker;
  let bridge: Bridge;
  const service = new CryptoService();
  beforeAll(async () => {
    const program = buildXsProgram(loadModuleGraph(manifest, 'xsnap'), {
      entry: 'test/crypto-probe',
      extra: { 'test/crypto-probe': PROBE },
    });
    worker = new XsWorker({ name: 'canopy-crypto' });
    bridge = new Bridge(worker);
    bridge.handle('crypto', (p) => service.serve(p));
    await worker.evaluate(program.code);
  });
  afterAll(() => worker?.kill());

  it('gives the pure SHA-256 for any split of the input, and leaves no digest open on the host', async () => {
    for (const n of [0, 1, 55, 64, 1000, 70_001]) {
      const d = await bridge.call('hash', new Uint8Array(randomBytes(n)));
      expect(Buffer.from(d.subarray(0, 32)).toString('hex'), `${n} bytes`).toBe(Buffer.from(d.subarray(32)).toString('hex'));
    }
    expect(service.openDigests).toBe(0);
  });

  it('accepts what the pure P-256 accepts and refuses what it refuses, EdDSA included (not on the board)', async () => {
    const message = sigStructure(new Uint8Array([1, 2, 3]), new Uint8Array(randomBytes(300)));
    const sig = sign('sha256', message, { key: release.key, dsaEncoding: 'ieee-p1363' });
    const edSig = new Uint8Array(sign(null, message, edKey.key));
    const key = release.spki.subarray(release.spki.length - 65);
    const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
    const offCurve = Uint8Array.from(key);
    offCurve[64] ^= 1;
    const flipped = Uint8Array.from(message);
    flipped[10] ^= 1;
    const cases: [string, number, Uint8Array, Uint8Array, Uint8Array, boolean][] = [
      ['good', 1, key, new Uint8Array(sig), message, true],
      ['message changed', 1, key, new Uint8Array(sig), flipped, false],
      ['r = s = 0', 1, key, new Uint8Array(64), message, false],
      ['r = n', 1, key, Uint8Array.from([...n, ...sig.subarray(32)]), message, false],
      ['key off the curve', 1, offCurve, new Uint8Array(sig), message, false],
      ['short signature', 1, key, new Uint8Array(sig.subarray(0, 63)), message, false],
      ['EdDSA', 2, edKey.spki.subarray(edKey.spki.length - 32), edSig, message, false],
    ];
    for (const [name, alg, k, s, m, want] of cases) {
      const p = new Uint8Array(3 + k.length + s.length + m.length);
      p[0] = alg;
      p[1] = k.length;
      p.set(k, 2);
      p[2 + k.length] = s.length;
      p.set(s, 3 + k.length);
      p.set(m, 3 + k.length + s.length);
      const [platform, pure, supports] = await bridge.call('verify', p);
      expect([name, platform === 1, pure === 1], name).toEqual([name, want, want]);
      expect(supports, name).toBe(alg === 1 ? 1 : 0);
    }
  });
});
