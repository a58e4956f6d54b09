// `gcc -fsyntax-only` of the firmware's native C modules (device/native/**/*.c) as an ESP32 build
// compiles them (-DESP32=1): against the XS headers that ship with @agoric/xsnap plus stand-ins for
// the ESP-IDF API and the SDK's ESP32 host header (test/support/native/), in npm test; against the
// SDK's own headers in npm run test:moddable (docs/native.md).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const support = join(root, 'test/support/native');
const xsnapIncludes = join(root, 'node_modules/@agoric/xsnap/moddable/xs/includes');

export { root as nativeRoot };

export const natives = (readdirSync(join(root, 'device/native'), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(root, 'device/native', f))
  .sort();

const scratch = mkdtempSync(join(tmpdir(), 'canopy-native-c-'));

/** Removes the scratch folder; call from afterAll. */
export function cleanNativeScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
}

// mcconfig generates mc.xs.h per build: an xsID_* for every identifier the build uses. Here every
// xsID_* a module names gets one, so a module compiles exactly when its other names are right.
function writeMcXsH(dir: string, source: string): void {
  const ids = [...new Set([...source.matchAll(/\bxsID_(\w+)/g)].map((m) => m[1]))].sort();
  const lines = ['/* stand-in for mcconfig\'s generated mc.xs.h */', '#include "xs.h"'];
  ids.forEach((id, i) => lines.push(`#define xsID_${id} ${1000 + i}`));
  writeFileSync(join(dir, 'mc.xs.h'), lines.join('\n') + '\n');
}

export interface HeaderSet { name: string; includes: string[]; flags: string[] }

export const standIns: HeaderSet = {
  name: 'xsnap XS headers + stand-ins',
  // -include stddef.h: xsnap's older xs.h uses size_t without including <stddef.h> (SDK 8.2.3's does).
  includes: [join(support, 'moddable-esp'), join(support, 'esp-idf'), xsnapIncludes],
  flags: ['-include', 'stddef.h'],
};

export function sdkHeaders(sdk: string): HeaderSet {
  return {
    name: 'Moddable SDK headers + ESP-IDF stand-ins',
    includes: [join(sdk, 'xs/includes'), join(sdk, 'xs/platforms/esp'), join(sdk, 'modules/io/common'), join(support, 'esp-idf')],
    // the defines make.esp32.mk passes to every C file of an ESP32 build
    flags: ['-D__ets__', '-U__STRICT_ANSI__', '-DmxUseDefaultSharedChunks=1'],
  };
}

export function syntaxCheck(file: string, headers: HeaderSet, source = readFileSync(file, 'utf8')) {
  const dir = mkdtempSync(join(scratch, 'c-'));
  writeMcXsH(dir, source);
  const input = join(dir, file.split('/').pop()!);
  writeFileSync(input, source);
  const args = ['-fsyntax-only', '-std=gnu17', '-Wall', '-Werror', '-DESP32=1', ...headers.flags,
    `-I${dir}`, ...headers.includes.map((d) => `-I${d}`), input];
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc could not run (${r.error.message}): install gcc (Debian: apt-get install gcc)`);
  return { status: r.status, stderr: r.stderr.replaceAll(input, relative(root, file)) };
}

// The bug this check was written for: ota-slot.c once kept its slot in
// `static const esp_partition_t *gPartition`, which the SDK's esp xsHost.h declares extern.
export const otaSlot = join(root, 'device/native/ota-slot/ota-slot.c');
export function oldOtaSlot(): string {
  const fixed = 'static const esp_partition_t *gSlot = NULL;';
  const source = readFileSync(otaSlot, 'utf8');
  if (!source.includes(fixed)) throw new Error(`ota-slot.c no longer has ${fixed}: update the regression source`);
  return source.replace(fixed, `${fixed}\nstatic const esp_partition_t *gPartition = NULL;`);
}
export const clash = /static declaration of .gPartition. follows non-static declaration/;

