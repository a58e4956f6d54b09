// The README's commands run as written. Every line of its `sh` code blocks is either run here,
// each block in a fresh folder that has `npx canopy` as an installed project would, or listed
// below with the reason it cannot run on a machine without a board, an SDK or your broker. A new
// README line that is neither fails the test.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFixture } from './ota-support.ts';

const root = join(import.meta.dirname, '..');

/** Lines not run, by how they start, and why. */
const NOT_RUN: [string, string][] = [
  ['npm install && npm start', 'installs the dependencies, then runs the simulator until Ctrl-C: this test runs in an installed checkout, and `npx canopy sim` below is that same run'],
  ['npm test ', 'is the suite this test belongs to'],
  ['npm install -g typescript@6', 'installs a package globally'],
  ['npm init -y && npm install ./canopy-0.1.0.tgz', 'installs the packed tarball: this test\'s folder has canopy installed already, and test/package.test.ts installs the tarball and runs canopy new and sim from it'],
  ['cd my-probe && npx canopy build --target', 'needs the Moddable SDK (and ESP-IDF for esp32); test/moddable/scaffold.test.ts builds a scaffolded app for lin and runs it in mcsim'],
  ['cd my-probe && npx canopy flash', 'needs a board'],
  ['npx canopy build --target esp32', 'needs the Moddable SDK and ESP-IDF'],
  ['npx canopy build --target lin', 'needs the Moddable SDK'],
  ['npm run test:moddable', 'needs the Moddable SDK (MODDABLE): the opt-in real-SDK suite'],
  ['npx canopy flash ', 'needs a board'],
  ['npx canopy serial ', 'needs a board'],
  ['npx canopy sim --devices 20 --interval 2000 --broker mqtt://127.0.0.1:1883', 'needs your MQTT broker on 127.0.0.1:1883'],
  ['npx canopy monitor --broker mqtt://broker.local:1883', 'needs your fleet and its broker (broker.local)'],
  ['npx canopy devices --broker mqtt://broker.local:1883', 'needs your fleet and its broker (broker.local)'],
  ['npx canopy bridge --broker mqtt://broker.local:1883', 'needs your fleet, its broker (broker.local) and your PostgreSQL (db.local)'],
  ['npx canopy history greenhouse-7 ', 'needs the history a bridge stored in your PostgreSQL (db.local)'],
  ['npx canopy export --since 7d --db postgres://canopy@db.local', 'needs the history a bridge stored in your PostgreSQL (db.local)'],
  ['host-a$ ', 'needs an MQTT cluster (emqx-lb) and several hosts'],
  ['host-b$ ', 'needs an MQTT cluster (emqx-lb) and several hosts'],
  ['... ', 'an ellipsis in the example, not a command'],
  ['npx canopy ota push ', 'needs a broker and a device'],
  ['npx canopy console --broker mqtt://broker.local:1883', 'serves until stopped, for your fleet and its broker (broker.local); test/console.test.ts runs the console'],
  ['npx canopy console --broker mqtts://broker.local', 'needs your TLS broker, its CA and a token file'],
  ['npx canopy ota rollout ', 'needs a broker and a fleet'],
  ['npx canopy session --broker mqtt://127.0.0.1:1883', 'needs your MQTT broker on 127.0.0.1:1883 (the --demo line runs the same against the embedded broker)'],
  ['npx canopy session --broker mqtts://broker:8883', 'needs your TLS broker and its certificates'],
];

/** Lines that run until stopped: run, seen to start, then Ctrl-C (SIGINT) must end them with exit 0. */
const UNTIL_STOPPED: Record<string, string> = { 'npx canopy sim': 'canopy sim: 3 devices on the XS engine' };

function shellBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      if (current) blocks.push(current);
      current = current === undefined && line.trim() === '```sh' ? [] : undefined;
      continue;
    }
    if (current && line.trim()) current.push(line.trim());
  }
  return blocks;
}

const command = (line: string) => line.replace(/\s+#\s.*$/, '').trim();
const reasonFor = (line: string) => NOT_RUN.find(([start]) => line.startsWith(start))?.[1];

/** A folder like a project that has canopy installed: `npx canopy` resolves to this checkout's bin. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-readme-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"readme-run","private":true}\n');
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(join(root, 'bin/canopy.js'), join(dir, 'node_modules/.bin/canopy'));
  // What the examples refer to: the scenarios, a device/ folder for the trust module, a built app.
  cpSync(join(root, 'sim/scenarios'), join(dir, 'sim/scenarios'), { recursive: true });
  mkdirSync(join(dir, 'device'));
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build/app.bin'), loadFixture('esp32'));
  return dir;
}

const env = (dir: string) => ({ ...process.env, HOME: dir, npm_config_yes: 'true', npm_config_update_notifier: 'false' });

/**
 * Runs `line` in its own process group and, once it has said `started`, sends SIGINT to the whole
 * group, as Ctrl-C at a terminal does. npm re-raises a SIGINT it received after its child is done,
 * so `npx` itself ends "by SIGINT"; the command's own exit code is checked in test/cli.test.ts.
 */
function runUntilStopped(line: string, dir: string, started: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `exec ${line}`], { cwd: dir, env: env(dir), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    let sent = false;
    child.stderr.on('data', (c) => {
      err += c;
      if (!sent && err.includes(started)) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    child.on('close', (code, signal) => resolve({ code, signal, err }));
  });
}

const blocks = shellBlocks(readFileSync(join(root, 'README.md'), 'utf8'));

describe('README', () => {
  it('has shell blocks, and every line of them is run or listed with a reason', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const lines = blocks.flat();
    const skipped = lines.filter(reasonFor);
    // Each listed reason still stands for a line that is there.
    for (const [start] of NOT_RUN) expect(lines.some((l) => l.startsWith(start)), start).toBe(true);
    expect(skipped.length).toBeLessThan(lines.length);
    for (const l of lines) if (!reasonFor(l)) expect(l, 'a README command is written with npx canopy').not.toMatch(/^(?!npx )canopy /);
  });

  blocks.forEach((block, b) => {
    const runnable = block.filter((l) => !reasonFor(l));
    if (runnable.length === 0) return;
    describe(`block ${b + 1}`, () => {
      const dir = project();
      for (const line of runnable) {
        const cmd = command(line);
        it(`runs: ${cmd}`, async () => {
          if (UNTIL_STOPPED[cmd]) {
            const r = await runUntilStopped(cmd, dir, UNTIL_STOPPED[cmd]);
            expect(r.code === 0 || r.signal === 'SIGINT', r.err).toBe(true);
            expect(r.err).toContain('stopping devices cleanly');
            expect(r.err).not.toMatch(/killed by|\n\s+at /);
            return;
          }
          const r = spawnSync('bash', ['-c', line], { cwd: dir, env: env(dir), encoding: 'utf8' });
          expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
          expect(r.stderr).not.toMatch(/\n\s+at /);
        }, 240_000);
      }
    });
  });
});
