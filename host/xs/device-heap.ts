// XS devices sized like an ESP32. xsnap-worker hard-codes its creation (a 32 MB chunk heap and
// 256 K slots, zeroed at start: ~50 MB RSS per simulated device) and takes no flag for it, so
// Canopy links its own worker from @agoric/xsnap's object files plus host/xs/native/device-heap.c,
// which replaces the creation through the linker (--wrap=fxCreateMachine) and adds the one call
// that fixes the heap's free room once the firmware has loaded. Built on first use (gcc, ~1 s),
// cached under node_modules/.cache keyed by the C source and the xsnap build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Free heap a device's app gets once its firmware is loaded. */
export interface HeapBudget {
  /** Chunk bytes (strings, ArrayBuffers, arrays, closures' variables). */
  chunks: number;
  /** Slots (16 B on an ESP32, 32 B on a 64-bit host). */
  slots: number;
}

/**
 * An ESP32's creation (the SDK's esp32 targets: chunk 78,848 B, heap 4,928 slots, both
 * incremental 0). On the board the firmware is preloaded into flash, so all of it is the app's.
 */
export const ESP32_HEAP: HeapBudget = { chunks: 78_848, slots: 4_928 };

/**
 * What the simulator's host bridge adds on top: the request and reply ArrayBuffers of a bridge
 * call (an OTA block, a TCP segment the host hands in; host/xs/device-host.ts caps those at
 * NET_PIECE) and the Compartment's loader that forwards handleCommand.
 */
export const BRIDGE_HEAP: HeapBudget = { chunks: 24_576, slots: 512 };

/** The budget an XS device gets: the ESP32's, plus the bridge's. */
export const DEVICE_HEAP: HeapBudget = { chunks: ESP32_HEAP.chunks + BRIDGE_HEAP.chunks, slots: ESP32_HEAP.slots + BRIDGE_HEAP.slots };

/**
 * The creation while the firmware loads: small, growing in small steps, so that little beyond the
 * firmware itself is resident when the heap is fixed. Stack: xsnap's 4,096 (the Compartment
 * loader nests deeper than the board's 512-slot stack; stack overflow is not what this models).
 */
const LOADING = { chunk: 64 * 1024, chunkIncrement: 8 * 1024, slots: 8 * 1024, slotIncrement: 1024, stack: 4096 };

export const LOADING_CREATION = [LOADING.chunk, LOADING.chunkIncrement, LOADING.slots, LOADING.slotIncrement, LOADING.stack].join(',');

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, 'native', 'device-heap.c');

// The flags xsnap-worker.mk compiles XS with: the machine's layout depends on them.
const XS_DEFINES = [
  '-DINCLUDE_XSPLATFORM', '-DXSPLATFORM="xsnapPlatform.h"', '-DmxLockdown=1', '-DmxMetering=1', '-DmxDebug=1', '-UmxInstrument',
  '-DmxNoConsole=1', '-DmxBoundsCheck=1', '-DmxParse=1', '-DmxRun=1', '-DmxSloppy=1', '-DmxSnapshot=1',
  '-DmxRegExpUnicodePropertyEscapes=1', '-DmxStringNormalize=1', '-DmxMinusZero=1',
];

let built: string | undefined;

/** Path of the device-heap xsnap-worker, building it when missing. */
export function deviceHeapWorker(): string {
  if (built) return built;
  let pkg: string;
  try {
    pkg = dirname(createRequire(import.meta.url).resolve('@agoric/xsnap/package.json'));
  } catch {
    throw new Error('XS engine unavailable: package @agoric/xsnap is not installed; run `npm install`');
  }
  const native = join(pkg, 'xsnap-native', 'xsnap');
  const objects = join(native, 'build', 'tmp', 'lin', 'release', 'xsnap-worker');
  if (!existsSync(objects)) throw new Error(`XS engine unavailable: ${objects} not found; run \`npm rebuild @agoric/xsnap\` (needs make and gcc >= 10)`);
  const objectFiles = readdirSync(objects).filter((f) => f.endsWith('.o')).sort().map((f) => join(objects, f));
  const key = createHash('sha256').update(readFileSync(SOURCE)).update(objectFiles.map((f) => `${f}:${statSync(f).mtimeMs}`).join('\n')).digest('hex').slice(0, 16);
  const dir = join(pkg, '..', '..', '.cache', 'canopy-xsnap', key);
  const binary = join(dir, 'xsnap-worker');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${binary}.${process.pid}`;
    const xs = join(pkg, 'moddable', 'xs');
    try {
      execFileSync('gcc', ['-O2', '-fno-common', ...XS_DEFINES, `-I${xs}/includes`, `-I${xs}/platforms`, `-I${xs}/sources`, `-I${native}/sources`, '-c', SOURCE, '-o', `${tmp}.o`], { stdio: 'pipe' });
      execFileSync('gcc', ['-rdynamic', '-Wl,--wrap=fxCreateMachine', ...objectFiles, `${tmp}.o`, '-ldl', '-lm', '-lpthread', '-o', tmp], { stdio: 'pipe' });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`XS engine unavailable: building the device-heap xsnap-worker failed: ${e.stderr?.toString().trim() || e.message}`);
    } finally {
      rmSync(`${tmp}.o`, { force: true });
    }
    renameSync(tmp, binary); // atomic: a concurrent build of the same key ends in the same file
  }
  built = binary;
  return binary;
}
