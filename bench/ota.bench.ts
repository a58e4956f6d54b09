// Signed OTA: pack and verify of a 1.5 MB ESP-IDF image against node:crypto's SHA-256 of the same
// bytes; push throughput over the embedded broker and through a stock mosquitto (no
// set_tcp_nodelay: a fleet's broker is not tuned for Canopy) against plain MQTT QoS 0 publishing of
// the same bytes in the same block size; and the bytes re-sent after a mid-transfer drop.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EmbeddedBroker } from '../host/broker.ts';
import { SessionDriver } from '../host/transport.ts';
import { Session } from '../protocol/session/session.ts';
import { verifyPackage } from '../protocol/ota/policy.ts';
import { trustedKey } from '../protocol/ota/trust.ts';
import { pureVerifier } from '../protocol/ota/verifier.ts';
import { buildChunkTable } from '../protocol/ota/chunks.ts';
import { idBytes, pack, packParts } from '../ota/pack.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { nodeHash, nodeVerifier } from '../host/crypto.ts';
import { OtaPusher } from '../ota/push.ts';
import { OtaTestDevice } from '../sim/ota-device.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { median, round, row, type BenchRow } from './harness.ts';

const SIZE = 1_500_000;
const WINDOW = 32;

/** A valid ESP32 app image of about `size` bytes: the fixture's header and app descriptor, then filler. */
export function syntheticImage(size: number): Uint8Array {
  const fixture = new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../shared/fixtures/esp-idf/esp32/hello_world.bin')));
  const desc = fixture.slice(32, 32 + 256);
  const filler = new Uint8Array(randomBytes((size - 24 - 16 - 256 - 16 - 32) & ~3));
  const segs = [desc, filler];
  const body = 24 + segs.reduce((n, s) => n + 8 + s.length, 0);
  const out = new Uint8Array((body & ~15) + 16 + 32);
  out.set(fixture.subarray(0, 24));
  out[1] = segs.length;
  out[23] = 1;
  const dv = new DataView(out.buffer);
  let at = 24;
  let x = 0xef;
  for (const s of segs) {
    dv.setUint32(at, 0x3f400020, true);
    dv.setUint32(at + 4, s.length, true);
    out.set(s, at + 8);
    for (const b of s) x ^= b;
    at += 8 + s.length;
  }
  const sumAt = (body & ~15) + 15;
  out[sumAt] = x;
  out.set(createHash('sha256').update(out.subarray(0, sumAt + 1)).digest(), sumAt + 1);
  return out;
}

/**
 * Milliseconds per call of each function, measured in interleaved rounds; the fastest round of
 * each is reported. These are single calls of a millisecond or two on a shared 2-core machine: a
 * round can only be slowed (preempted, a GC of someone else's garbage), never sped up, and a
 * median of a few rounds then measures the machine's load more than the code.
 */
function fastest(fns: (() => void)[], rounds = 15): number[] {
  const best = fns.map(() => Infinity);
  for (const fn of fns) fn();
  for (let i = 0; i < rounds; i++) {
    fns.forEach((fn, k) => {
      const s = performance.now();
      fn();
      best[k] = Math.min(best[k], performance.now() - s);
    });
  }
  return best;
}

export async function pushRun(broker: { url: string }, pkg: Uint8Array, key: ReturnType<typeof signingKey>, id: string, drop: boolean, window = WINDOW) {
  const trust = { threshold: 1, keys: [trustedKey(key.spki)] };
  const d = new OtaTestDevice({ id, broker: broker.url, trust, identity: { vendor: idBytes('acme'), class: idBytes('bench'), deviceId: id }, verifier: nodeVerifier, window });
  let progress = 0;
  if (drop) d.onEvent = (e, dev) => e.type === 'progress' && ++progress === 5 && dev.driver?.dropConnection();
  d.boot();
  const driver = new SessionDriver(new Session({ clientId: `bench-push-${id}`, cleanSession: true }), broker.url).start();
  let installing = 0;
  const pusher = new OtaPusher(driver, pkg, [id], { onStatus: (_d, s) => s.state === 'installing' && (installing ||= performance.now()) });
  const start = performance.now();
  const [r] = await pusher.run();
  const total = performance.now() - start;
  const ms = installing - start; // transfer alone: the reboot and self-test are fixed costs
  if (r.state !== 'confirmed') throw new Error(`bench push ended ${r.state} ${r.detail ?? ''}`);
  await driver.stop();
  await d.stop();
  return { ms, total, stats: pusher.stats, duplicates: d.agent.duplicates };
}

/** The same bytes as plain QoS 0 publishes of one block size, publisher to subscriber. */
async function plainMqtt(broker: { url: string }, bytes: Uint8Array, block: number): Promise<number> {
  const sub = new SessionDriver(new Session({ clientId: 'bench-sub', cleanSession: true }), broker.url).start();
  await new Promise((r) => sub.once('connected', r));
  sub.subscribe([{ topic: 'bench/plain', qos: 0 }]);
  await new Promise((r) => sub.once('subscribed', r));
  const pub = new SessionDriver(new Session({ clientId: 'bench-pub', cleanSession: true }), broker.url).start();
  await new Promise((r) => pub.once('connected', r));
  let got = 0;
  const done = new Promise<void>((r) => sub.on('message', (e: { payload: Uint8Array }) => (got += e.payload.length) >= bytes.length && r()));
  const start = performance.now();
  for (let at = 0; at < bytes.length; at += block) pub.publish('bench/plain', bytes.subarray(at, at + block), { qos: 0 });
  await done;
  const ms = performance.now() - start;
  await pub.stop();
  await sub.stop();
  return ms;
}

export default async function (): Promise<BenchRow[]> {
  const image = syntheticImage(SIZE);
  const key = signingKey(generateKeyPem('ES256'));
  const opts = { seq: 1, vendor: 'acme', class: 'bench' };
  const trust = { threshold: 1, keys: [trustedKey(key.spki)] };
  const pkg = pack(image, [key], opts);
  const [sha, packMs, packPartsMs, verifyMs, tableMs] = fastest([
    () => createHash('sha256').update(image).digest(),
    () => pack(image, [key], opts),
    // As `canopy ota pack` writes it: the image follows the head out, not copied into a fresh
    // 1.5 MB buffer (whose first touch page-faults: 0.2 ms warm, 0.8 ms in a cold process).
    () => packParts(image, [key], opts),
    () => verifyPackage(pkg, trust, nodeVerifier, undefined, nodeHash),
    // What pack and verify cannot avoid besides the whole-payload pass: a second SHA-256 stream,
    // one 4 KiB chunk at a time (node:crypto's per-digest cost makes it dearer than the first).
    () => buildChunkTable(image, 4096, nodeHash),
  ]);
  const [verifyPureMs] = fastest([() => verifyPackage(pkg, trust, pureVerifier)], 3);
  const mb = image.length / 1e6;

  const mosquitto = await new Mosquitto({ quiet: true }).start();
  let stock: Awaited<ReturnType<typeof pushRun>>;
  let stockPlainMs: number;
  try {
    stockPlainMs = median([await plainMqtt(mosquitto, image, 4096), await plainMqtt(mosquitto, image, 4096), await plainMqtt(mosquitto, image, 4096)]);
    await pushRun(mosquitto, pkg, key, 'mq-warm', false);
    const runs = [await pushRun(mosquitto, pkg, key, 'mq-a', false), await pushRun(mosquitto, pkg, key, 'mq-b', false), await pushRun(mosquitto, pkg, key, 'mq-c', false)];
    stock = runs.sort((a, b) => a.ms - b.ms)[1];
  } finally {
    await mosquitto.dispose();
  }
  const broker = await new EmbeddedBroker().start();
  try {
    const plainMs = median([await plainMqtt(broker, image, 4096), await plainMqtt(broker, image, 4096), await plainMqtt(broker, image, 4096)]);
    await pushRun(broker, pkg, key, 'bench-warm', false);
    const clean = await pushRun(broker, pkg, key, 'bench-a', false);
    const dropped = await pushRun(broker, pkg, key, 'bench-b', true);
    return [
      row(`ota: pack ${round(mb, 2)} MB image (ES256, 4 KiB chunk table) into one new buffer`, packMs, 'ms', 'one node:crypto sha256 pass over the same bytes (goal ×3)', sha),
      row(`ota: pack ${round(mb, 2)} MB image as \`canopy ota pack\` writes it (head, then the image uncopied)`, packPartsMs, 'ms', 'one node:crypto sha256 pass over the same bytes (goal ×3)', sha),
      row(`ota: verify ${round(mb, 2)} MB package (node:crypto ES256 + SHA-256)`, verifyMs, 'ms', 'one node:crypto sha256 pass over the same bytes (goal ×3)', sha),
      row(`ota: chunk table of ${round(mb, 2)} MB alone (SHA-256 of each 4 KiB, in pack and verify besides the whole pass)`, tableMs, 'ms', 'one node:crypto sha256 pass over the same bytes', sha),
      row(`ota: verify ${round(mb, 2)} MB package (pure-TS P-256 + SHA-256, XS path)`, verifyPureMs, 'ms', 'node:crypto sha256 of the same bytes', sha),
      row(`ota: push throughput, embedded broker, 4 KiB blocks, window ${WINDOW} (offer to last block)`, mb / (clean.ms / 1000), 'MB/s', 'plain MQTT QoS 0 publish of the same bytes, 4 KiB', mb / (plainMs / 1000)),
      row(`ota: push throughput, stock mosquitto (no tuning), window ${WINDOW}`, mb / (stock.ms / 1000), 'MB/s', 'goal 5 MB/s (issue 12)', 5),
      row(`ota: push throughput, stock mosquitto, window ${WINDOW}`, mb / (stock.ms / 1000), 'MB/s', 'plain MQTT QoS 0 publish of the same bytes, same mosquitto', mb / (stockPlainMs / 1000)),
      row('ota: push, offer to confirmed (incl. whole-image check, reboot, self-test)', clean.total, 'ms', 'plain MQTT QoS 0 publish of the same bytes, 4 KiB', plainMs),
      row('ota: push throughput with a drop mid-transfer', mb / (dropped.ms / 1000), 'MB/s', 'the clean push above', mb / (clean.ms / 1000)),
      { name: 'ota: bytes re-sent after a mid-transfer drop (in flight only)', value: dropped.stats.resentBytes, unit: 'bytes', reference: `image bytes (${image.length})`, ratio: round(dropped.stats.resentBytes / image.length, 4) },
      { name: 'ota: completed blocks delivered again after the drop', value: dropped.duplicates, unit: 'blocks', reference: 'goal 0', ratio: 0 },
    ];
  } finally {
    await broker.stop();
  }
}
