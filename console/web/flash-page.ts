// The browser flasher: Web Serial to the board, esptool-js (its own browser build, unmodified) to
// identify the chip and write, a progress bar, and the same refusal as `canopy flash` of an image
// built for another chip, before anything is written. A Canopy package is verified by the console
// against its trust store first, and only its app image is written.
import type { ESPLoader, Transport } from 'esptool-js';
import { parsePackage } from '../../protocol/ota/package.ts';
import { PACKAGE_MAGIC } from '../../protocol/ota/package.ts';
import { api, h } from './dom.ts';
import type { Page } from './page.ts';
import { md5Hex } from './md5.ts';
import { APP_OFFSET, check, describe, hex, planFromFiles, PlanError, type PlanEntry } from './flash-plan.ts';
import { verdictCard } from './ota-page.ts';

/** The part of Web Serial used here (TypeScript's DOM library does not have it yet). */
interface SerialLike {
  requestPort(options?: { filters?: { usbVendorId?: number; usbProductId?: number }[] }): Promise<unknown>;
}

/**
 * esptool.py's hard reset: EN low through RTS for 100 ms with IO0 high, so the board boots the new
 * firmware. (esptool-js 0.7's HardReset only releases RTS, which resets nothing on a board that is
 * already out of reset; host/flash/flasher.ts does the same for `canopy flash`.)
 */
async function hardReset(t: Transport): Promise<void> {
  await t.setDTR(false);
  await t.setRTS(true);
  await new Promise((r) => setTimeout(r, 100));
  await t.setRTS(false);
}

const isPackage = (b: Uint8Array) => PACKAGE_MAGIC.every((m, i) => b[i] === m);

export const flashPage: Page = (root) => {
  const serial = (navigator as Navigator & { serial?: SerialLike }).serial;
  const folder = h('input', { type: 'file', id: 'flash-folder', webkitdirectory: true, multiple: true });
  const files = h('input', { type: 'file', id: 'flash-files', multiple: true, accept: '.bin,.json,.canopy,.cota' });
  const planBox = h('div', { id: 'plan' });
  const chipBox = h('div', { id: 'chip', class: 'muted' }, 'no board connected');
  const baud = h('select', { id: 'baud' }, ...[115200, 460800, 921600].map((b) => h('option', { value: b }, String(b))));
  const connectButton = h('button', { id: 'connect', onclick: () => void connect() }, 'Connect');
  const flashButton = h('button', { id: 'flash', class: 'primary', disabled: true, onclick: () => void flash() }, 'Flash');
  const progress = h('progress', { id: 'flash-progress', max: 100, value: 0 });
  const progressText = h('span', { id: 'flash-progress-text', class: 'muted' });
  const result = h('div', { id: 'flash-result' });
  const log = h('pre', { class: 'log', id: 'flash-log' });
  let plan: PlanEntry[] | undefined;
  let loader: ESPLoader | undefined;
  let transport: Transport | undefined;
  let busy = false;

  const say = (line: string) => {
    log.textContent += line;
    log.scrollTop = log.scrollHeight;
  };
  const terminal = { clean: () => (log.textContent = ''), write: say, writeLine: (l: string) => say(l + '\n') };
  const fail = (text: string) => result.replaceChildren(h('div', { class: 'card verdict refused', 'data-outcome': 'refused' }, text));
  const update = () => (flashButton.disabled = busy || !plan || !loader);

  const pick = async (list: FileList | null) => {
    plan = undefined;
    result.replaceChildren();
    planBox.replaceChildren();
    if (!list?.length) return update();
    const picked = new Map<string, Uint8Array>();
    for (const f of list) picked.set((f as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/').slice(1).join('/') || f.name, new Uint8Array(await f.arrayBuffer()));
    try {
      const pkg = [...picked].find(([, b]) => isPackage(b));
      if (pkg) {
        // Verified by the console against its trust store; nothing is kept there.
        const { body } = await api<{ package?: { id: string; name: string; size: number; manifest: Record<string, unknown>; signers: string[]; receivedAt: string }; error?: { reason: string; code?: number; detail: string; description: string } }>('/api/verify', {
          method: 'POST',
          headers: { 'X-File-Name': encodeURIComponent(pkg[0]), 'Content-Type': 'application/octet-stream' },
          body: pkg[1] as Uint8Array<ArrayBuffer>,
        });
        planBox.append(verdictCard(body, pkg[0]));
        if (body.error) return update();
        plan = check([{ ...describe(APP_OFFSET, `${pkg[0]} app image`, parsePackage(pkg[1]).payload) }]);
      } else plan = planFromFiles(picked);
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      planBox.replaceChildren(h('div', { class: 'card verdict refused', id: 'plan-error' }, err.message));
      return update();
    }
    planBox.append(
      h(
        'table',
        { id: 'plan-table' },
        h('thead', {}, h('tr', {}, ...['Address', 'File', 'Role', 'Chip', 'Bytes'].map((c) => h('th', {}, c)))),
        h('tbody', {}, ...plan.map((e) => h('tr', {}, h('td', {}, hex(e.address)), h('td', {}, e.name), h('td', {}, e.role), h('td', {}, e.chipName ?? ''), h('td', {}, String(e.data.length))))),
      ),
    );
    warnMismatch();
    update();
  };

  const connect = async () => {
    if (!serial) return fail('This browser has no Web Serial: use Chromium, Chrome or Edge, on http://127.0.0.1 or https.');
    busy = true;
    update();
    try {
      const port = await serial.requestPort({});
      const esptool = await import('esptool-js');
      transport = new esptool.Transport(port as never, false);
      loader = new esptool.ESPLoader({ transport, baudrate: Number(baud.value), romBaudrate: 115200, terminal });
      const description = await loader.main();
      chipBox.className = '';
      chipBox.dataset.chip = loader.chip.CHIP_NAME;
      chipBox.textContent = `${loader.chip.CHIP_NAME}: ${description}`;
      warnMismatch();
    } catch (err) {
      loader = undefined;
      fail(`No answer from the board's ROM loader (${(err as Error).message ?? err}). Hold BOOT, tap EN/RESET, release BOOT, and connect again.`);
    } finally {
      busy = false;
      update();
    }
  };

  /** An image in the plan built for another chip than the connected board's, as a sentence. */
  const mismatch = (): string | undefined => {
    const chip = loader?.chip;
    const wrong = chip && plan?.find((e) => e.chipId !== undefined && chip.IMAGE_CHIP_ID !== undefined && e.chipId !== chip.IMAGE_CHIP_ID);
    return wrong ? `${wrong.name} is built for ${wrong.chipName}, but the board is an ${chip.CHIP_NAME}` : undefined;
  };
  const warnMismatch = () => {
    const m = mismatch();
    if (m) result.replaceChildren(h('div', { class: 'card verdict refused', 'data-warning': 'chip-mismatch' }, `${m}: Flash will refuse it. Build for ${loader!.chip.CHIP_NAME}, or pick that build's files.`));
  };

  const flash = async () => {
    if (!plan || !loader || !transport) return;
    const chip = loader.chip;
    // Before anything is written: an image for another chip leaves a board that cannot boot.
    const wrong = mismatch();
    if (wrong) {
      result.replaceChildren(h('div', { class: 'card verdict refused', 'data-outcome': 'chip-mismatch' }, `${wrong}; nothing was written. Build for ${chip.CHIP_NAME}, or pick that build's files.`));
      return;
    }
    busy = true;
    update();
    result.replaceChildren();
    const entries = plan;
    const done = entries.map(() => 0);
    try {
      await loader.writeFlash({
        fileArray: entries.map((e) => ({ data: e.data, address: e.address })),
        flashMode: 'keep',
        flashFreq: 'keep',
        flashSize: 'keep',
        eraseAll: false,
        compress: true,
        calculateMD5Hash: md5Hex,
        reportProgress: (i, written, total) => {
          done[i] = total ? written / total : 1;
          const pct = Math.round((100 * done.reduce((a, b) => a + b, 0)) / entries.length);
          progress.value = pct;
          progressText.textContent = ` ${pct}% · ${entries[i].name}`;
        },
      });
      progress.value = 100;
      await hardReset(transport);
      result.replaceChildren(h('div', { class: 'card verdict ok', 'data-outcome': 'flashed' }, `Wrote and verified (MD5) ${entries.map((e) => `${e.name} at ${hex(e.address)}`).join(', ')}. The board was reset into the new firmware.`));
    } catch (err) {
      fail(`Flashing failed: ${(err as Error).message ?? err}. Connect again and retry; at a lower baud rate if it repeats.`);
    } finally {
      await transport.disconnect().catch(() => {});
      loader = undefined;
      transport = undefined;
      chipBox.textContent += ' (disconnected)';
      busy = false;
      update();
    }
  };

  folder.addEventListener('change', () => void pick(folder.files));
  files.addEventListener('change', () => void pick(files.files));
  root.append(
    h('h1', {}, 'Browser flasher'),
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'muted' }, 'Pick an ESP-IDF build folder (flasher_args.json), its .bin files, or a signed .canopy package (its app image is written after the console verifies it).'),
      h('div', { class: 'toolbar' }, h('label', {}, 'build folder', folder), h('label', {}, 'or files', files)),
      planBox,
    ),
    h('div', { class: 'card' }, h('div', { class: 'toolbar' }, h('label', {}, 'baud', baud), connectButton, chipBox), h('div', { class: 'toolbar' }, flashButton, progress, progressText), result),
    log,
  );
  if (!serial) fail('This browser has no Web Serial: use Chromium, Chrome or Edge, on http://127.0.0.1 or https.');
  return () => {
    void transport?.disconnect().catch(() => {});
  };
};
