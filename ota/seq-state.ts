// `--seq auto`: the last sequence number packed on this machine per vendor/class, in a small JSON
// state file (docs/ota-cli-state.md). Written only after a package was written, and never to a
// lower value, so a re-run or a mistake cannot make the counter go backwards. The fleet's retained
// OTA status (fleet-seq.ts) is the shared source; this file covers packages not yet pushed.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readUserJson } from '../host/user-file.ts';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function defaultStatePath(): string {
  return process.env.CANOPY_OTA_STATE ?? join(homedir(), '.canopy', 'ota-seq.json');
}

function read(path: string): Record<string, number> {
  if (!existsSync(path)) return {};
  const expected = 'the sequence state file `canopy ota pack` keeps (docs/ota-cli-state.md), or another --state';
  const j = readUserJson(path, 'sequence state file', expected);
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${path} is not a sequence state file; expected ${expected}`);
  return j as Record<string, number>;
}

export function lastSeq(path: string, stream: string): number {
  return read(path)[stream] ?? 0;
}

export function recordSeq(path: string, stream: string, seq: number): void {
  const s = read(path);
  if ((s[stream] ?? 0) >= seq) return;
  s[stream] = seq;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path + '.tmp', JSON.stringify(s, null, 2) + '\n');
  renameSync(path + '.tmp', path);
}
