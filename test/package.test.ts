// The package as a user gets it (issue 13 item 6): `npm pack`'s tarball installed into an empty
// folder with no network, then `npx canopy` run from there. It checks what a checkout hides: the
// `files` list (dist/, the device and protocol sources the simulator's XS loader reads, the heap
// worker's C source), the `exports` (imported by the package name, typings included), that runtime
// dependencies are `dependencies`, and that the CLI runs from dist/ with no tsx installed.
//
// No network: the install is `npm ci --offline` against the npm cache. A plain `npm install
// ./canopy.tgz --offline` cannot work here: it resolves each dependency through its registry
// document, and the cache holds tarballs (by integrity) more surely than documents. So the
// project's lockfile is written from canopy's own (its runtime packages, the versions the suite
// tests with, with tarball URLs: npm is set to omit them), and npm takes every tarball from the cache.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  link?: boolean;
  [k: string]: unknown;
}

/** The project's package-lock.json: canopy from the tarball, and canopy's runtime packages as its own lock has them. */
function projectLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'canopy-user', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(join(projectDir, tarball))).digest('base64')}`,
      dependencies: pkg.dependencies,
      bin: { canopy: 'bin/canopy.js' },
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path || entry.dev || entry.link) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[path] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz` };
  }
  return { name: 'canopy-user', lockfileVersion: 3, requires: true, packages };
}

let projectDir = '';
const env = () => ({ ...process.env, npm_config_yes: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' });

function run(cmd: string, args: string[], cwd = projectDir): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: env(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function npx(args: string[]) {
  return run('npx', ['canopy', ...args]);
}

/** Starts `cmd` and resolves once a line of its output matches `ready`, with the match. */
function startUntil(cmd: string, args: string[], ready: RegExp, timeoutMs = 30_000): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(cmd, args, { cwd: projectDir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')} did not print ${ready} in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = (d: Buffer) => {
      output += d;
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => output });
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code} before printing ${ready}:\n${output}`)));
  });
}

/** `npx canopy ARGS` without blocking (the test reads other processes' output meanwhile). */
function npxAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npx', ['canopy', ...args], { cwd: projectDir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const stopped = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));

describe('the npm package, installed from its tarball with no network', () => {
  beforeAll(() => {
    projectDir = mkdtempSync(join(tmpdir(), 'canopy-package-'));
    // prepack builds dist/ (code and typings) first.
    const packed = run('npm', ['pack', '--pack-destination', projectDir, '--json'], root);
    if (packed.code !== 0) throw new Error(`npm pack failed (${packed.code}):\n${packed.stderr}`);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    writeFileSync(
      join(projectDir, 'package.json'),
      JSON.stringify(
        {
          name: 'canopy-user',
          private: true,
          type: 'module',
          dependencies: { [pkg.name]: `file:${filename}` },
          // better-sqlite3 (only `canopy history` needs it) compiles from source for minutes when its
          // prebuilt binary cannot be downloaded; the XS engine's build and the rest run as for anyone.
          allowScripts: { 'better-sqlite3': false, '@agoric/xsnap': true, esbuild: true, '@serialport/bindings-cpp': true },
        },
        null,
        2,
      ),
    );
    writeFileSync(join(projectDir, 'package-lock.json'), JSON.stringify(projectLock(filename), null, 2));
    const installed = run('npm', ['ci', '--offline']);
    if (installed.code !== 0) throw new Error(`npm ci --offline failed (${installed.code}); is every runtime dependency in the npm cache (\`npm ci\` in the checkout puts it there)?\n${installed.stderr}`);
  }, 900_000);

  afterAll(() => {
    if (projectDir) rmSync(projectDir, { recursive: true, force: true });
  });

  it('holds what the files list promises, and no tests or tsx', () => {
    const here = join(projectDir, 'node_modules', pkg.name);
    for (const f of ['dist/main.js', 'dist/inputs.json', 'dist/types/protocol/telemetry.d.ts', 'bin/canopy.js', 'manifest.json', 'device/main.ts', 'device/xsnap-main.ts', 'protocol/telemetry.ts', 'host/xs/native/device-heap.c', 'README.md']) {
      expect(existsSync(join(here, f)), f).toBe(true);
    }
    expect(existsSync(join(here, 'test'))).toBe(false);
    expect(existsSync(join(here, 'cli'))).toBe(false);
    // tsx is a devDependency: the CLI below runs from dist/ or not at all.
    expect(existsSync(join(projectDir, 'node_modules/tsx'))).toBe(false);
  });

  it('npx canopy --version and --help', () => {
    const version = npx(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `canopy ${pkg.version}\n` });
    const help = npx(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npx canopy <command> \[flags\]/);
    expect(help.stdout).toMatch(/\n {2}sim {8}/);
    expect(npx(['sim', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: canopy sim \[flags\]/) });
  });

  it('npx canopy sim --virtual-time --duration 10m --json: the samples on the wire decode with canopy/telemetry', async () => {
    // A subscriber on canopy/transport records every telemetry payload as the broker delivered it;
    // canopy/telemetry decodes each, and the decoded samples must be the ones sim printed.
    writeFileSync(
      join(projectDir, 'subscribe.js'),
      `import { Session, SessionDriver, Topics } from 'canopy/transport';
import { decodeSample } from 'canopy/telemetry';
const topics = new Topics('canopy');
const driver = new SessionDriver(new Session({ clientId: 'package-test', keepalive: 30 }), process.argv[2]);
driver.on('subscribed', () => console.log('subscribed'));
driver.on('message', (m) => {
  const where = topics.parse(m.topic);
  if (where?.kind === 'telemetry') console.log(JSON.stringify({ device: where.deviceId, sample: decodeSample(m.payload) }));
});
driver.subscribe([{ topic: topics.telemetryFilter(), qos: 1 }]);
driver.start();
process.once('SIGTERM', async () => { await driver.stop(); process.exit(0); });
`,
    );
    // The broker by its bin (not npx), so that stopping it stops it and not only npx.
    const broker = await startUntil(join(projectDir, 'node_modules/.bin/canopy'), ['broker', '--port', '0'], /listening on (mqtt:\/\/\S+)/);
    const url = broker.match[1];
    let subscriber: Awaited<ReturnType<typeof startUntil>> | undefined;
    try {
      subscriber = await startUntil(process.execPath, ['subscribe.js', url], /^subscribed$/m);
      const sim = await npxAsync(['sim', '--virtual-time', '--duration', '10m', '--json', '--broker', url]);
      expect(sim.code, sim.stderr).toBe(0);
      const printed = sim.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; device: string; sample?: { seq: number } });
      const telemetry = printed.filter((l) => l.kind === 'telemetry');
      expect(new Set(telemetry.map((t) => t.device)).size).toBe(3);
      expect(telemetry.length).toBeGreaterThanOrEqual(3 * 100); // 10 minutes at the 5 s default
      // QoS 1: every sample sim saw delivered reaches the subscriber too.
      const key = (t: { device: string; sample?: { seq: number } }) => `${t.device}#${t.sample!.seq}`;
      const want = new Map(telemetry.map((t) => [key(t), t.sample]));
      const got = new Map<string, unknown>();
      const sub = subscriber;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the subscriber decoded ${got.size} of ${want.size} samples:\n${sub.output().slice(-2000)}`)), 30_000);
        const scan = () => {
          for (const line of sub.output().split('\n')) {
            if (!line.startsWith('{')) continue;
            const t = JSON.parse(line) as { device: string; sample: { seq: number } };
            got.set(key(t), t.sample);
          }
          if ([...want.keys()].every((k) => got.has(k))) {
            clearTimeout(timer);
            resolve();
          }
        };
        sub.child.stdout!.on('data', scan);
        scan();
      });
      for (const [k, sample] of want) expect(got.get(k), k).toEqual(sample);
    } finally {
      subscriber?.child.kill('SIGTERM');
      broker.child.kill('SIGINT');
      await Promise.all([subscriber ? stopped(subscriber.child) : undefined, stopped(broker.child)]);
    }
  }, 180_000);

  it('the exports import by the package name, and type-check in a TypeScript program', () => {
    writeFileSync(
      join(projectDir, 'use.ts'),
      `import { decodeSample, encodeSample, type Sample } from 'canopy/telemetry';
import { Session, SessionDriver } from 'canopy/transport';
import { generateKeyPem, pack, signingKey, verify, trustedKey, type TrustStore } from 'canopy/ota';
const s: Sample = decodeSample(encodeSample({ seq: 1, ts: 1700000000, temperature: 21.5, humidity: 40, lux: 300, motion: false, dhtErrors: 0 }));
const key = signingKey(generateKeyPem());
const trust: TrustStore = { threshold: 1, keys: [trustedKey(key.spki)] };
export const checks: [number, unknown, unknown, unknown, unknown, TrustStore] = [s.seq, Session, SessionDriver, pack, verify, trust];
`,
    );
    writeFileSync(
      join(projectDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, typeRoots: [join(root, 'node_modules/@types')], types: ['node'] }, files: ['use.ts'] }),
    );
    const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    // And at run time: a package signed with canopy/ota verifies with it (the ESP-IDF fixture image).
    writeFileSync(
      join(projectDir, 'ota.js'),
      `import { readFileSync } from 'node:fs';
import { generateKeyPem, pack, signingKey, verify, trustedKey, OtaError } from 'canopy/ota';
const key = signingKey(generateKeyPem());
const image = new Uint8Array(readFileSync(process.argv[2]));
const signed = pack(image, [key], { seq: 7, vendor: 'canopy', class: 'sensor-v1' });
const trust = { threshold: 1, keys: [trustedKey(key.spki)] };
console.log(verify(signed, trust).manifest.seq);
signed[signed.length - 1] ^= 1;
try { verify(signed, trust); console.log('tampered package verified'); } catch (e) { console.log(e instanceof OtaError ? e.reason : String(e)); }
`,
    );
    const fixture = join(root, '../shared/fixtures/esp-idf/esp32/hello_world.bin');
    const ota = run(process.execPath, ['ota.js', fixture]);
    expect(ota.stderr).toBe('');
    expect(ota.stdout.split('\n')[0]).toBe('7');
    expect(ota.stdout.split('\n')[1]).not.toBe('tampered package verified');
  });

  // ── `canopy new` goes here (issue 13 items 4 and 5; built on another branch) ───────────────────
  // From projectDir: `npx canopy new demo && cd demo && npx canopy sim --app . --virtual-time
  // --duration 10m --json`, then decode the demo's samples with its declared telemetry, as above.
  it('npx canopy new demo && cd demo && npx canopy sim --app . --virtual-time --duration 10m --json: the demo samples decode', async () => {
    const made = npx(['new', 'demo']);
    expect(made.code, made.stderr).toBe(0);
    // The scaffold includes the installed SDK's manifest, where npm put it.
    const manifest = JSON.parse(readFileSync(join(projectDir, 'demo/manifest.json'), 'utf8')) as { include: string[] };
    expect(manifest.include[0]).toBe('../node_modules/canopy/manifest_sdk.json');
    const sim = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('npx', ['canopy', 'sim', '--app', '.', '--virtual-time', '--duration', '10m', '--json', '--port', '0'], { cwd: join(projectDir, 'demo'), env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(sim.code, sim.stderr).toBe(0);
    const printed = sim.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; device: string; app?: string; record?: Record<string, unknown> });
    expect(printed.filter((l) => l.kind === 'decode-error' || l.kind === 'telemetry')).toEqual([]);
    const records = printed.filter((l) => l.kind === 'record');
    expect(new Set(records.map((r) => r.device)).size).toBe(3);
    expect(records.length).toBeGreaterThanOrEqual(3 * 100);
    for (const r of records) {
      expect(r.app).toBe('demo');
      expect(Object.keys(r.record!).sort()).toEqual(['heater', 'humidity', 'seq', 'temperature', 'ts']);
    }
  }, 180_000);
});
