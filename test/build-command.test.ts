// `canopy build`: prerequisites named in sentences, and the exact mcconfig command it runs,
// checked with stand-in mcconfig and tsc programs (the real SDK is not part of CI).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPrerequisites } from '../host/moddable/prerequisites.ts';
import { root } from './support/device-bundle.ts';

const cli = join(root, 'bin', 'canopy.js');

function fakeTools(tscVersion: string, mcconfigExit = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-build-'));
  const bin = join(dir, 'bin');
  const moddable = join(dir, 'moddable');
  const idf = join(dir, 'idf');
  mkdirSync(bin);
  mkdirSync(moddable);
  mkdirSync(idf);
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script('tsc', `echo "Version ${tscVersion}"`);
  script('mcconfig', `printf '%s\\n' "$@" > ${join(dir, 'args.txt')}; exit ${mcconfigExit}`);
  return { dir, bin, moddable, idf, args: () => readFileSync(join(dir, 'args.txt'), 'utf8').trim().split('\n') };
}

function canopy(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [cli, 'build', ...args], { cwd: root, env, encoding: 'utf8' });
}

describe('canopy build prerequisites', () => {
  it('lists everything missing at once, each with what to do', () => {
    const { problems } = checkPrerequisites('esp32', { env: {}, probe: () => undefined });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/MODDABLE is not set: install the Moddable SDK/);
    expect(problems[1]).toMatch(/tsc \(TypeScript\) is not on PATH.*TypeScript 6 or later/);
    expect(problems[2]).toMatch(/IDF_PATH is not set: install ESP-IDF v6/);
  });

  it('refuses a TypeScript older than 6, which mcconfig rejects', () => {
    const t = fakeTools('5.9.3');
    const { problems } = checkPrerequisites('lin', { env: { MODDABLE: t.moddable, PATH: t.bin }, probe: () => 'Version 5.9.3\n' });
    expect(problems).toEqual(['tsc on PATH is Version 5.9.3; mcconfig needs TypeScript 6 or later (npm install -g typescript@6)']);
  });

  it('the CLI says it cannot build yet and exits 1, with no stack trace', () => {
    const r = canopy(['--target', 'esp32'], { PATH: '/usr/bin:/bin' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('canopy build: cannot build for esp32 yet:');
    expect(r.stderr).toContain('MODDABLE is not set');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('canopy build runs mcconfig', () => {
  it('esp32 with Wi-Fi and broker compiled in', () => {
    const t = fakeTools('6.0.3');
    const r = canopy(['--target', 'esp32', '--ssid', 'lab', '--password', 'pw', '--broker', 'mqtt://10.0.0.2:1883', '--device-id', 'dev-7', 'intervalMs=5000'], {
      PATH: `${t.bin}:/usr/bin:/bin`,
      MODDABLE: t.moddable,
      IDF_PATH: t.idf,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(t.args()).toEqual(['-m', '-p', 'esp32', '-t', 'build', 'manifest.json', 'intervalMs=5000', 'ssid=lab', 'password=pw', 'broker=mqtt://10.0.0.2:1883', 'deviceId=dev-7']);
    expect(r.stderr).toContain('password=***');
    expect(r.stderr).not.toContain('password=pw');
  });

  it.each([[[]], [['--dry-run']]])('%j: never prints a password: --password, --broker user:pass@, mqttPassword=', (extra) => {
    const t = fakeTools('6.0.3');
    const args = ['--target', 'esp32', '--password', 'wifi-s3cret', '--broker', 'mqtt://dev:mqtt-s3cret@10.0.0.2:1883', 'mqttPassword=other-s3cret', ...extra];
    const r = canopy(args, { PATH: `${t.bin}:/usr/bin:/bin`, MODDABLE: t.moddable, IDF_PATH: t.idf });
    expect(r.status, r.stderr).toBe(0);
    const printed = r.stdout + r.stderr;
    expect(printed).toContain('broker=mqtt://dev:***@10.0.0.2:1883');
    expect(printed).toContain('mqttPassword=***');
    expect(printed).toContain('password=***');
    expect(printed).not.toMatch(/s3cret/);
  });

  it('--out makes its folder first: mcconfig refuses an -o folder that does not exist', () => {
    const t = fakeTools('6.0.3');
    const out = join(t.dir, 'new', 'out');
    // The stand-in fails as the real one does when -o names no folder.
    writeFileSync(join(t.bin, 'mcconfig'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${join(t.dir, 'args.txt')}\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && { [ -d "$2" ] || { echo "### Error: -o '$2': directory not found!" >&2; exit 1; }; }; shift; done\n`);
    const r = canopy(['--target', 'lin', '--out', out], { PATH: `${t.bin}:/usr/bin:/bin`, MODDABLE: t.moddable });
    expect(r.status, r.stderr).toBe(0);
    expect(t.args()).toContain(out);
  });

  it('lin needs no ESP-IDF; a failing mcconfig fails the build with exit 1', () => {
    const t = fakeTools('7.0.2', 2);
    const r = canopy(['--target', 'lin'], { PATH: `${t.bin}:/usr/bin:/bin`, MODDABLE: t.moddable });
    expect(t.args()).toEqual(['-m', '-p', 'lin', '-t', 'build', 'manifest.json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('mcconfig failed (exit 2)');
  });

  it.each([
    [[], /--target must be esp32 or lin/],
    [['--target', 'esp8266'], /--target must be esp32 or lin, got "esp8266"/],
    [['--target', 'esp32', '--board', 'lin'], /--board lin is not an esp32 board/],
    [['--target', 'lin', '--ssid', 'x'], /--ssid and --password are for esp32 builds/],
    [['--target', 'lin', 'oops'], /"oops" is neither a flag nor a key=value/],
  ])('refuses %j with exit 2', (args, message) => {
    const r = canopy(args, { PATH: '/usr/bin:/bin' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
