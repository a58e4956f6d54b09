// Runs a checked flash plan through unmodified esptool-js: connect and identify the chip, refuse a
// chip mismatch before anything is uploaded, load the stub, raise the baud rate, write each file,
// read back its MD5, reset. esptool-js errors are plain strings; they are turned into FlashErrors
// here, where it is known which file and which step failed.

import { createHash } from 'node:crypto';
import { ClassicReset, ESPError, ESPLoader, Transport, UnexpectedChipIdError, UnexpectedChipMagicError, type IEspLoaderTerminal } from 'esptool-js';
import { chipLabel } from '../../protocol/ota/esp-image.ts';
import { hex } from '../../protocol/ota/le.ts';
import { deflateImage, type Deflated } from './deflate.ts';
import { FlashError } from './errors.ts';
import type { FlashEntry, FlashPlan } from './plan.ts';
import type { WebSerialPort } from './web-serial.ts';

export const ROM_BAUD = 115200;

export interface FlashProgress {
  index: number;
  entry: FlashEntry;
  /** Bytes sent so far and in all: compressed bytes when compressing. */
  sent: number;
  total: number;
}

export interface FlashRunOptions {
  port: WebSerialPort;
  baud?: number;
  erase?: boolean;
  compress?: boolean;
  verify?: boolean;
  /** Sync attempts, each a reset plus five SYNCs (esptool's default is 7). */
  connectAttempts?: number;
  /** Leave the chip in the loader instead of resetting it into the new firmware. */
  noReset?: boolean;
  onProgress?: (p: FlashProgress) => void;
  /** esptool-js's own log lines, for --verbose. */
  log?: (line: string) => void;
}

export interface FileReport {
  name: string;
  address: number;
  bytes: number;
  compressedBytes: number;
  seconds: number;
  md5: string;
  verified: boolean;
}

export interface FlashReport {
  port: string;
  chip: string;
  description?: string;
  mac?: string;
  flashId?: number;
  flashSize?: string;
  baud: number;
  files: FileReport[];
  bytes: number;
  compressedBytes: number;
  seconds: number;
  verified: boolean;
}

// ESPLoader insists on a terminal or prints to the console; this one forwards whole lines.
function terminal(log: (line: string) => void): IEspLoaderTerminal {
  let partial = '';
  const emit = (text: string) => {
    const parts = (partial + text).split(/[\r\n]+/);
    partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) log(p.trimEnd());
  };
  return {
    clean() {},
    write: (data: string) => emit(data),
    writeLine: (data: string) => emit(data + '\n'),
  };
}

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** esptool-js pads every image to a 4-byte multiple with 0xFF; padding here keeps MD5s comparable. */
function padded(data: Uint8Array): Uint8Array {
  if (data.length % 4 === 0) return data;
  const out = new Uint8Array(data.length + 4 - (data.length % 4)).fill(0xff);
  out.set(data);
  return out;
}

function noSync(port: WebSerialPort, bootLog: string, reason: string): FlashError {
  const boot = /boot:(0x[0-9a-f]+)(?: \(([^)]*)\))?/i.exec(bootLog);
  const seen = boot ? ` The chip booted in mode ${boot[1]}${boot[2] ? ` (${boot[2]})` : ''}, which is not the download mode.` : '';
  const lines = port.signalsWork ? '' : ' This port has no DTR/RTS lines, so the board cannot be reset into the loader automatically.';
  return new FlashError(
    'no-sync',
    `no answer from the ESP ROM loader on ${port.path} (${reason}).${seen}${lines} Hold the BOOT (IO0) button, press and release EN/RESET, ` +
      'release BOOT, then run the command again. Also check the cable carries data and nothing else uses the port.',
  );
}

function buildHint(chipName: string): string {
  const target = chipName.toLowerCase().replace('-', '');
  return `idf.py set-target ${target}, or mcconfig -p ${target === 'esp32' ? 'esp32' : `esp32/${target}`}`;
}

// esptool.py's hard reset: EN low through RTS for 100 ms with IO0 left high, so the chip boots the
// new firmware. (esptool-js 0.7's HardReset only releases RTS, which resets nothing on a board
// that is already out of reset.) Without modem lines (a pty) this does nothing, as it must.
async function hardReset(port: WebSerialPort): Promise<void> {
  await port.setSignals({ dataTerminalReady: false, requestToSend: true });
  if (!port.signalsWork) return;
  await new Promise((resolve) => setTimeout(resolve, 100));
  await port.setSignals({ requestToSend: false });
}

// How long the line must stay silent before stale replies count as drained: the ROM sends its
// repeated answers back to back, and 30 ms is above the 16 ms latency timer of FTDI bridges.
export const DRAIN_QUIET_MS = 30;

/** esptool-js's ClassicReset, minus its 150 ms of sleeps on a port that has no DTR/RTS to pulse. */
class LineAwareReset extends ClassicReset {
  constructor(
    private readonly port: WebSerialPort,
    transport: Transport,
    resetDelay: number,
  ) {
    super(transport, resetDelay);
  }

  override async reset(): Promise<void> {
    await this.transport.setSignals(false, true);
    if (!this.port.signalsWork) return; // a pty or CDC port without lines: nothing is reset, so nothing to wait for
    await new Promise((resolve) => setTimeout(resolve, 100));
    await this.transport.setSignals(true, false);
    await new Promise((resolve) => setTimeout(resolve, this.resetDelay));
    await this.transport.setSignals(false, false);
  }
}

export async function flashPlan(plan: FlashPlan, options: FlashRunOptions): Promise<FlashReport> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const baud = options.baud ?? ROM_BAUD;
  const compress = options.compress ?? true;
  const verify = options.verify ?? true;
  const port = options.port;
  // Compressing starts now, on the thread pool, and is done long before the stub is running.
  const deflated = compress ? plan.entries.map((e) => deflateImage(padded(e.data))) : [];
  for (const d of deflated) d.catch(() => {}); // awaited (and reported) where the file is written
  const transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0]);
  // Transport prints some trace lines with console.log whatever its tracing flag says.
  transport.trace = (line: string) => log(line);
  transport.drainInput = async (_quietMs?: number, maxMs = 400) => {
    await port.quiet(DRAIN_QUIET_MS, maxMs);
    transport.flushInput();
  };
  // Transport.read polls its buffer with 1 ms sleeps, a timer tick (often 1–2 ms) per reply on top
  // of the reply itself; waiting for the port's data event first makes the poll find the bytes.
  const read = transport.read.bind(transport);
  // (A timeout leaves read() a 0 ms wait, so it fails as its own timeout would.)
  transport.read = async (timeout: number) => {
    const buffered = () => transport.inWaiting() > 0;
    if (!buffered()) await port.nextInput(timeout, buffered);
    return read(buffered() ? timeout : 0);
  };
  const loader = new ESPLoader({
    transport,
    baudrate: baud,
    romBaudrate: ROM_BAUD,
    terminal: terminal(log),
    resetConstructors: { classicReset: (t, delay) => new LineAwareReset(port, t, delay) },
  });
  try {
    try {
      await loader.detectChip('default_reset', options.connectAttempts ?? 7);
    } catch (err) {
      if (err instanceof FlashError) throw err;
      if (err instanceof UnexpectedChipMagicError || err instanceof UnexpectedChipIdError) {
        throw new FlashError('loader', `the loader on ${port.path} answered, but esptool-js does not know this chip: ${message(err)}`);
      }
      throw noSync(port, port.recentInput(), message(err));
    }
    const chip = loader.chip;
    // Before anything is uploaded or erased: an image for another chip would leave a board that cannot boot.
    for (const e of plan.entries) {
      if (e.chipId !== undefined && e.chipId !== chip.IMAGE_CHIP_ID) {
        throw new FlashError(
          'chip-mismatch',
          `${e.name} is built for ${chipLabel(e.chipId, e.chipName)}, but the board on ${port.path} is an ${(chip.IMAGE_CHIP_ID === undefined ? chip.CHIP_NAME : chipLabel(chip.IMAGE_CHIP_ID, chip.CHIP_NAME))}; nothing was written. Build for ${chip.CHIP_NAME} (${buildHint(chip.CHIP_NAME)}).`,
        );
      }
    }
    const report: FlashReport = { port: port.path, chip: chip.CHIP_NAME, baud, files: [], bytes: 0, compressedBytes: 0, seconds: 0, verified: verify };
    try {
      if (!loader.secureDownloadMode) {
        report.description = await loader.chip.getChipDescription(loader);
        report.mac = await loader.chip.readMac(loader);
      }
      await loader.runStub();
      if (baud !== ROM_BAUD) await loader.changeBaud();
      // changeBaud falls back to the ROM rate when the board stops answering at the new one.
      report.baud = (loader as unknown as { baudrate: number }).baudrate;
      if (!loader.secureDownloadMode) {
        report.flashId = await loader.readFlashId();
        report.flashSize = loader.DETECTED_FLASH_SIZES[((report.flashId ?? 0) >> 16) & 0xff];
      }
    } catch (err) {
      throw new FlashError('loader', `talking to the ${chip.CHIP_NAME} loader failed: ${message(err)}. Try a lower --baud or another cable.`);
    }
    const flashBytes = report.flashSize ? loader.flashSizeBytes(report.flashSize as Parameters<ESPLoader['flashSizeBytes']>[0]) : undefined;
    for (const e of plan.entries) {
      if (flashBytes !== undefined && flashBytes > 0 && e.address + e.data.length > flashBytes) {
        throw new FlashError('too-big', `${e.name} ends at ${hex(e.address + e.data.length)}, past the end of the ${report.flashSize} flash; nothing was written.`);
      }
    }
    if (options.erase) {
      try {
        await loader.eraseFlash();
      } catch (err) {
        throw new FlashError('write-failed', `erasing the flash failed: ${message(err)}`);
      }
    }
    for (const [index, entry] of plan.entries.entries()) report.files.push(await writeOne(loader, index, entry, deflated[index], verify, options));
    report.bytes = report.files.reduce((n, f) => n + f.bytes, 0);
    report.compressedBytes = report.files.reduce((n, f) => n + f.compressedBytes, 0);
    if (!options.noReset) await hardReset(port);
    report.seconds = (performance.now() - started) / 1000;
    return report;
  } finally {
    await transport.disconnect().catch(() => port.close());
  }
}

async function writeOne(loader: ESPLoader, index: number, entry: FlashEntry, deflated: Promise<Deflated> | undefined, verify: boolean, options: FlashRunOptions): Promise<FileReport> {
  const data = padded(entry.data);
  const t0 = performance.now();
  let compressedBytes = data.length;
  try {
    if (deflated) {
      compressedBytes = await writeCompressed(loader, data, entry.address, await deflated, options.log, (sent, total) => options.onProgress?.({ index, entry, sent, total }));
    } else await loader.writeFlash({
      fileArray: [{ data, address: entry.address }],
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: false,
      reportProgress: (_i, sent, total) => {
        compressedBytes = total;
        options.onProgress?.({ index, entry, sent, total });
      },
    });
  } catch (err) {
    const hint = err instanceof ESPError && /status/.test(err.message) ? ' The chip rejected the data (checksum or length): the line is noisy; try a lower --baud or a shorter cable.' : '';
    throw new FlashError('write-failed', `writing ${entry.name} at ${hex(entry.address)} failed: ${message(err)}.${hint}`);
  }
  const expected = md5(data);
  if (verify) {
    let actual: string;
    try {
      actual = await loader.flashMd5sum(entry.address, data.length);
    } catch (err) {
      throw new FlashError('verify-failed', `reading back the MD5 of ${entry.name} at ${hex(entry.address)} failed: ${message(err)}`);
    }
    if (actual !== expected) {
      throw new FlashError(
        'verify-failed',
        `${entry.name} at ${hex(entry.address)} did not write correctly: flash MD5 ${actual}, file MD5 ${expected}. ` +
          'Run the command again; if it fails the same way, try a lower --baud and --erase, and suspect the flash chip.',
      );
    }
  }
  return { name: entry.name, address: entry.address, bytes: data.length, compressedBytes, seconds: (performance.now() - t0) / 1000, md5: expected, verified: verify };
}

/**
 * writeFlash's compressed path with the same commands, block size, retries and timeouts, but the
 * image deflated by node:zlib (see deflate.ts). The stub acknowledges a block on receipt and writes
 * it while the next one arrives, so each block's timeout covers the previous block's flash write.
 */
async function writeCompressed(
  loader: ESPLoader,
  data: Uint8Array,
  address: number,
  d: Deflated,
  log: ((line: string) => void) | undefined,
  progress: (sent: number, total: number) => void,
): Promise<number> {
  const { compressed } = d;
  const t0 = performance.now();
  const blockSize = loader.FLASH_WRITE_SIZE;
  const inflated = await d.inflatedPerBlock(blockSize);
  const blockTimeout = (bytes: number) => Math.max(loader.DEFAULT_TIMEOUT, loader.timeoutPerMb(loader.ERASE_WRITE_TIMEOUT_PER_MB, bytes));
  const blocks = await loader.flashDeflBegin(data.length, compressed.length, address);
  progress(0, compressed.length);
  let timeout = 5000;
  for (let seq = 0; seq < blocks; seq++) {
    const block = compressed.subarray(seq * blockSize, (seq + 1) * blockSize);
    // The ROM (no stub) writes before it acknowledges; the stub after.
    if (!loader.IS_STUB) timeout = blockTimeout(inflated[seq]);
    await loader.flashDeflBlock(block, seq, timeout);
    if (loader.IS_STUB) timeout = blockTimeout(inflated[seq]);
    progress(Math.min(compressed.length, (seq + 1) * blockSize), compressed.length);
  }
  if (loader.IS_STUB) await loader.flashDeflFinish(false, timeout);
  // esptool's own line, for --verbose and for bench/flash.bench.ts to set beside esptool.py's.
  log?.(`Wrote ${data.length} bytes (${compressed.length} compressed) at ${hex(address)} in ${((performance.now() - t0) / 1000).toFixed(3)} seconds.`);
  return compressed.length;
}
