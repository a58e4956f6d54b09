// The real firmware's RAM on XS, laid out as on an ESP32: built by mcconfig for lin with every
// Canopy module preloaded (code and frozen objects in flash), run in mcsim against the embedded
// broker, its heap read from XS's own instruments over the xsbug protocol (host/moddable/xsbug.ts).
// The reference is Moddable's default ESP32 creation: about 78 KB of chunks and 4,928 slots. lin is
// a 64-bit host: a slot is 32 B there and 16 B on an ESP32, so slots are counted, not bytes; chunks
// hold pointers too, so the lin chunk figure is an upper bound for the ESP32.
// Needs MODDABLE (docs/moddable.md); without it the rows are left out and stderr says why.
import { EmbeddedBroker } from '../host/broker.ts';
import { buildLin, Mcsim, requireSdk, Xvfb } from '../host/moddable/sdk.ts';
import { XsbugListener, type Instruments } from '../host/moddable/xsbug.ts';
import { row, type BenchRow } from './harness.ts';

const ESP32_CHUNK_BYTES = 78 * 1024;
const ESP32_SLOTS = 4928;
const HOST_SLOT_BYTES = 32;
const RUN_SAMPLES = 15;

export default async function firmwareBench(): Promise<BenchRow[]> {
  if (!process.env.MODDABLE) {
    console.error('bench/firmware.bench.ts: left out: the firmware footprint rows need the Moddable SDK (MODDABLE; docs/moddable.md)');
    return [];
  }
  const sdk = requireSdk();
  const root = new URL('..', import.meta.url).pathname;
  const broker = await new EmbeddedBroker({ port: 0 }).start();
  const xsbug = await new XsbugListener().start();
  const display = await new Xvfb().start();
  let mcsim: Mcsim | undefined;
  try {
    const lin = await buildLin(sdk, root, { broker: broker.url, deviceId: 'bench-firmware', intervalMs: 1000 });
    mcsim = new Mcsim(sdk, lin.mcso);
    mcsim.start(display.display, xsbug.port);
    // Instruments arrive once a second; take the peak once the app has connected and sampled.
    const connected = await xsbug.whenSamples((s) => s['Network sockets'] > 0, RUN_SAMPLES, 120_000);
    const peak: Instruments = {};
    for (const s of connected) for (const [k, v] of Object.entries(s)) peak[k] = Math.max(peak[k] ?? 0, v);
    const slots = peak['Slot used'] / HOST_SLOT_BYTES;
    return [
      row('firmware on Moddable (lin, preloaded): XS slots in use, peak of a running app', slots, 'slots', `ESP32 default creation (${ESP32_SLOTS} slots)`, ESP32_SLOTS),
      row('firmware on Moddable (lin, preloaded): XS chunks in use, peak (64-bit: an upper bound)', peak['Chunk used'], 'B', `ESP32 default creation (${ESP32_CHUNK_BYTES} B)`, ESP32_CHUNK_BYTES),
      row('firmware on Moddable (lin, preloaded): XS stack in use, peak', peak['Stack used'], 'B', `stack available (${peak['Stack available']} B)`, peak['Stack available']),
    ];
  } finally {
    await mcsim?.kill('SIGKILL');
    mcsim?.dispose();
    display.stop();
    await xsbug.stop();
    await broker.stop();
  }
}
