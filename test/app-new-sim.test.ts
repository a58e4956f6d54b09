// `canopy new NAME` and `canopy sim --app DIR` (issue 13 items 4 and 5): a scaffolded app and the
// greenhouse example run in the simulator on both engines, their samples decoded by their own
// declaration; scenarios assert on declared fields; each failure a user can hit has its exit code
// and message. The CLI runs as a child process in the app's folder, as a user runs it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin/canopy.js');
const work = mkdtempSync(join(tmpdir(), 'canopy-app-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], cwd = work, timeoutMs = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, CANOPY_FROM_SOURCE: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => (child.kill(), fail(new Error(`canopy ${args.join(' ')} took over ${timeoutMs} ms:\n${err}`))), timeoutMs);
    child.on('close', (code) => (clearTimeout(timer), done({ code: code ?? 1, out, err })));
  });
}

type Line = { kind: string; device: string; schema?: number; app?: string; record?: Record<string, unknown> };
const lines = (out: string): Line[] => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

describe('canopy new NAME', () => {
  it('scaffolds the app: manifest including the SDK, main, telemetry, sim models, test, tsconfig, package.json, README', async () => {
    const r = await run(['new', 'probe']);
    expect(r, r.err).toMatchObject({ code: 0 });
    for (const f of ['manifest.json', 'main.ts', 'telemetry.ts', 'app.ts', 'hardware-esp32.ts', 'hardware-sim.ts', 'sim.json', 'app.test.ts', 'tsconfig.json', 'package.json', 'README.md']) {
      expect(existsSync(join(work, 'probe', f)), f).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(work, 'probe/manifest.json'), 'utf8')) as { include: string[] };
    // A path relative to the app, as mcconfig resolves an include, to this Canopy's manifest_sdk.json.
    expect(resolve(work, 'probe', manifest.include[0])).toBe(join(root, 'manifest_sdk.json'));
    const pkg = JSON.parse(readFileSync(join(work, 'probe/package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
    expect(pkg.allowScripts['@agoric/xsnap']).toBe(true);
    expect(r.out).toContain('cd probe');
  });

  it.each([
    [['new'], 2, /say the app's name/],
    [['new', 'a', 'b'], 2, /one name only/],
    [['new', 'Bad_Name'], 2, /"Bad_Name" is not an app name/],
    [['new', '../up'], 2, /not an app name/],
  ])('canopy %j refuses with exit %i', async (args, code, message) => {
    const r = await run(args);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('refuses an existing non-empty folder (exit 1, nothing written) and a file of that name; takes an empty folder', async () => {
    mkdirSync(join(work, 'taken'));
    writeFileSync(join(work, 'taken/notes.txt'), 'mine');
    expect(await run(['new', 'taken'])).toMatchObject({ code: 1, err: expect.stringMatching(/taken\/ exists and is not empty/) });
    expect(existsSync(join(work, 'taken/manifest.json'))).toBe(false);
    writeFileSync(join(work, 'afile'), '');
    expect(await run(['new', 'afile'])).toMatchObject({ code: 1, err: expect.stringMatching(/afile exists and is not a folder/) });
    mkdirSync(join(work, 'empty'));
    expect((await run(['new', 'empty'])).code).toBe(0);
  });

  it('the scaffold\'s own vitest test passes', async () => {
    if (!existsSync(join(work, 'probe'))) await run(['new', 'probe']);
    const r = await new Promise<{ code: number; out: string }>((done) => {
      const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', '.'], { cwd: join(work, 'probe') });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => done({ code: code ?? 1, out }));
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/1 passed/);
  }, 120_000);
});

describe('the scaffold type-checks', () => {
  it('tsc -p . in the app folder (its devDependencies: this checkout\'s node_modules) reports nothing', () => {
    if (!existsSync(join(work, 'typed'))) spawnSync(process.execPath, [bin, 'new', 'typed'], { cwd: work });
    symlinkSync(join(root, 'node_modules'), join(work, 'typed/node_modules'));
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: join(work, 'typed'), encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);
});

describe('canopy sim on an app', () => {
  it.each(['xs', 'node'])('in the scaffolded folder, engine %s: its samples decode by its declaration', async (engine) => {
    if (!existsSync(join(work, 'probe'))) await run(['new', 'probe']);
    const r = await run(['sim', '--engine', engine, '--virtual-time', '--duration', '10m', '--json', '--port', '0'], join(work, 'probe'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/app "probe" \(schema \d+\)/);
    const records = lines(r.out).filter((l) => l.kind === 'record');
    expect(new Set(records.map((l) => l.device))).toEqual(new Set(['sim-1', 'sim-2', 'sim-3']));
    expect(records.length).toBeGreaterThanOrEqual(3 * 110);
    expect(lines(r.out).filter((l) => l.kind === 'telemetry' || l.kind === 'decode-error')).toEqual([]);
    for (const l of records) {
      expect(l.app).toBe('probe');
      expect(Object.keys(l.record!).sort()).toEqual(['heater', 'humidity', 'seq', 'temperature', 'ts']);
      // sim.json's models: humidity walks from 70, inside the declared 0..100.
      if (l.record!.humidity !== null) expect(l.record!.humidity).toBeGreaterThanOrEqual(0);
    }
  }, 180_000);

  it.each(['xs', 'node'])('--app examples/greenhouse --scenario, engine %s: field assertions pass, the fan comes on', async (engine) => {
    const r = await run(['sim', '--app', join(root, 'examples/greenhouse'), '--scenario', join(root, 'examples/greenhouse/scenarios/fan.yaml'), '--engine', engine, '--port', '0']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/scenario "greenhouse-fan": PASSED/);
    expect(r.out).toMatch(/ok {3}fan is true at least once/);
    expect(r.out).toMatch(/ok {3}temperature within -40\.\.80/);
  }, 180_000);

  it('a field assertion that fails names the field and exits 1', async () => {
    const scenario = join(work, 'cold.yaml');
    writeFileSync(scenario, 'name: cold\nengine: node\nduration: 2m\ndevices:\n  - count: 1\n    interval: 10s\nassert:\n  - fieldRange: { field: temperature, max: 0 }\n  - fieldSeen: { field: nosuch }\n');
    const r = await run(['sim', '--app', join(root, 'examples/greenhouse'), '--scenario', scenario, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL temperature within -∞\.\.0\n\s+temperature ranged [\d.]+\.\.[\d.]+ over \d+ readings/);
    expect(r.out).toMatch(/FAIL nosuch has a reading\n\s+no reading of field "nosuch" arrived \(fields seen: temperature, humidity, lux, fan, manual\)/);
  }, 120_000);

  it('a scenario field assertion that is malformed is refused before anything runs', async () => {
    const scenario = join(work, 'bad.yaml');
    writeFileSync(scenario, 'name: bad\nduration: 1m\ndevices:\n  - count: 1\nassert:\n  - fieldRange: { field: temperature }\n');
    const r = await run(['sim', '--app', join(root, 'examples/greenhouse'), '--scenario', scenario]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/assert\[0\]\.fieldRange: expected min, max or both/);
  });

  it('refuses what is not an app, each with its reason (exit 1, one message, no stack)', async () => {
    const cases: [string, RegExp][] = [];
    cases.push([join(work, 'nowhere'), /no such folder/]);
    mkdirSync(join(work, 'bare'));
    cases.push([join(work, 'bare'), /no manifest\.json in that folder \(an app has one: canopy new NAME scaffolds it\)/]);
    if (!existsSync(join(work, 'probe'))) await run(['new', 'probe']);
    // sim.json naming a field the app does not declare.
    mkdirSync(join(work, 'badsim'));
    for (const f of ['manifest.json', 'main.ts', 'telemetry.ts', 'app.ts', 'hardware-sim.ts']) writeFileSync(join(work, 'badsim', f), readFileSync(join(work, 'probe', f), 'utf8'));
    writeFileSync(join(work, 'badsim/sim.json'), JSON.stringify({ fields: { moisture: { model: 'daily' } } }));
    cases.push([join(work, 'badsim'), /sim\.json\.fields\.moisture: the telemetry "probe" declares no such field \(it has temperature, humidity, heater\)/]);
    // A manifest without the simulator's hardware module (its xsnap platform).
    mkdirSync(join(work, 'noxsnap'));
    for (const f of ['main.ts', 'telemetry.ts', 'app.ts', 'hardware-sim.ts']) writeFileSync(join(work, 'noxsnap', f), readFileSync(join(work, 'probe', f), 'utf8'));
    const m = JSON.parse(readFileSync(join(work, 'probe/manifest.json'), 'utf8')) as { platforms: Record<string, unknown> };
    delete m.platforms.xsnap;
    writeFileSync(join(work, 'noxsnap/manifest.json'), JSON.stringify(m));
    cases.push([join(work, 'noxsnap'), /module "probe\/hardware", which the xsnap build does not have[\s\S]*name the app's simulated hardware modules there/]);
    for (const [dir, message] of cases) {
      const r = await run(['sim', '--app', dir, '--virtual-time', '--duration', '1m', '--json', '--port', '0']);
      expect(r.code, dir).toBe(1);
      const err = JSON.parse(r.out.trim().split('\n').at(-1)!) as { ok: boolean; error: { message: string } };
      expect(err.ok).toBe(false);
      expect(err.error.message, dir).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  }, 120_000);
});

describe('canopy build and flash in an app folder', () => {
  it('build --dry-run takes the folder\'s manifest and writes to ./build; flash with no build says to build first (exit 2)', async () => {
    if (!existsSync(join(work, 'probe'))) await run(['new', 'probe']);
    const dry = await run(['build', '--target', 'lin', '--dry-run'], join(work, 'probe'));
    if (dry.code === 0) expect(dry.out).toMatch(new RegExp(`-o ${join(work, 'probe', 'build').replace(/[/.]/g, '\\$&')} manifest\\.json`));
    else expect(dry.err).toMatch(/cannot build for lin yet/);
    const flash = await run(['flash'], join(work, 'probe'));
    expect(flash.code).toBe(2);
    expect(flash.err).toMatch(/no esp32 build of this app in \.\/build: run npx canopy build --target esp32 first/);
  });
});
