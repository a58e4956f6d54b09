// The real Moddable SDK, for `npm run test:moddable` and the firmware bench row: mcconfig builds
// of manifest.json into fresh output folders, and the lin build run headless in the SDK's own mcsim
// (Xvfb + dbus-run-session, mc.so in an autorun/ folder beside a copy of the mcsim binary, a private
// HOME). docs/moddable.md says how to set the SDK up.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, relative } from 'node:path';
import { checkPrerequisites } from './prerequisites.ts';

export interface Sdk {
  moddable: string;
  env: NodeJS.ProcessEnv;
}

/** The SDK from MODDABLE, or an error that says what to set up: this suite never skips. */
export function requireSdk(): Sdk {
  const moddable = process.env.MODDABLE;
  const bin = moddable ? join(moddable, 'build', 'bin', 'lin', 'release') : '';
  const env = { ...process.env, PATH: [bin, process.env.PATH ?? ''].join(delimiter) };
  const { problems } = checkPrerequisites('lin', { env, probe: probeVersion(env) });
  if (problems.length) {
    throw new Error(`this needs the Moddable SDK (see docs/moddable.md):\n  - ${problems.join('\n  - ')}`);
  }
  for (const tool of ['mcsim', 'xsl']) {
    if (!existsSync(join(bin, tool))) throw new Error(`${join(bin, tool)} is missing; build the SDK's Linux tools (make in $MODDABLE/build/makefiles/lin)`);
  }
  for (const tool of ['Xvfb', 'dbus-run-session']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`running the lin firmware in mcsim needs ${tool} (apt-get install xvfb dbus-daemon)`);
  }
  return { moddable: moddable!, env };
}

function probeVersion(env: NodeJS.ProcessEnv) {
  return (command: string, args: string[]): string | undefined => {
    const r = spawnSync(command, args, { encoding: 'utf8', env });
    return r.error || r.status !== 0 ? undefined : r.stdout;
  };
}

export function scratchDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `canopy-moddable-${tag}-`));
}

function run(sdk: Sdk, command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; log: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? sdk.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      writeFileSync(options.log, output);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}; last lines (whole log: ${options.log}):\n${output.split('\n').filter((l) => !/not frozen|no const/.test(l)).slice(-25).join('\n')}`));
    });
  });
}

export interface LinBuild {
  out: string;
  mcso: string;
  /** Folder of the build's compiled modules (.xsb), laid out by module name. */
  modulesDir: string;
  makefile: string;
}

/** `mcconfig -d -m -p lin -t build` of the repository's manifest into a fresh folder. */
export async function buildLin(sdk: Sdk, root: string, config: Record<string, string | number>): Promise<LinBuild> {
  const out = scratchDir('lin');
  const args = ['-d', '-m', '-p', 'lin', '-t', 'build', '-o', out, 'manifest.json', ...Object.entries(config).map(([k, v]) => `${k}=${v}`)];
  await run(sdk, 'mcconfig', args, { cwd: root, log: join(out, 'mcconfig.log') });
  // mcconfig names the build folder after the project's folder.
  const main = join(out, 'tmp', 'lin', 'mc', 'debug', basename(root));
  const mcso = join(out, 'bin', 'lin', 'mc', 'debug', basename(root), 'mc.so');
  if (!existsSync(mcso)) throw new Error(`mcconfig reported success but built no ${mcso}`);
  return { out, mcso, modulesDir: join(main, 'modules'), makefile: join(main, 'makefile') };
}

export interface Esp32XsBuild {
  modulesDir: string;
  makefile: string;
  /** The linker's output: the preloaded heap and the module archive, as C. */
  xsC: string;
}

/**
 * The esp32 build's TypeScript, xsc and xsl steps (everything before ESP-IDF compiles C): mcconfig
 * writes the makefile, and make builds its mc.xs.c target. ESP-IDF is not needed for these steps,
 * so IDF_PATH points at a stand-in that only answers the makefile's version probe.
 */
export async function buildEsp32Xs(sdk: Sdk, root: string): Promise<Esp32XsBuild> {
  const out = scratchDir('esp32');
  const idf = join(out, 'idf-stand-in');
  mkdirSync(idf);
  writeFileSync(join(idf, 'export.sh'), '# stand-in: the xs steps need no ESP-IDF\n');
  const git = (...a: string[]) => spawnSync('git', ['-c', 'user.email=ci@canopy', '-c', 'user.name=ci', ...a], { cwd: idf });
  git('init', '-q');
  git('add', 'export.sh');
  git('commit', '-qm', 'stand-in');
  git('tag', 'v6.0');
  const env = { ...sdk.env, IDF_PATH: idf };
  await run(sdk, 'mcconfig', ['-p', 'esp32', '-t', 'build', '-o', out, 'manifest.json'], { cwd: root, env, log: join(out, 'mcconfig.log') });
  const main = join(out, 'tmp', 'esp32', 'release', basename(root));
  const xsC = join(main, 'mc.xs.c');
  // SDKCONFIG_H= drops the dependency on ESP-IDF's generated sdkconfig.h, which only the C steps need.
  await run(sdk, 'make', ['-f', join(main, 'makefile'), 'SDKCONFIG_H=', xsC], { cwd: main, env, log: join(out, 'make.log') });
  return { modulesDir: join(main, 'modules'), makefile: join(main, 'makefile'), xsC };
}

/** Module names of a build's modules folder (`~.embedded/io/x.xsb` is `embedded:io/x`). */
export function builtModuleNames(modulesDir: string): string[] {
  const names: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.xsb')) names.push(relative(modulesDir, path).slice(0, -4).replace(/^~\.embedded\//, 'embedded:'));
    }
  };
  walk(modulesDir);
  return names.sort();
}

/** The module names the makefile hands xsl with -p (preload). */
export function preloadedModules(makefile: string): string[] {
  return [...readFileSync(makefile, 'utf8').matchAll(/^\s*-p (\S+)\.xsb\\?$/gm)].map((m) => m[1].replace(/^~\.embedded\//, 'embedded:')).sort();
}

/** Xvfb on a free display, as mcsim is a GTK program. */
export class Xvfb {
  display = '';
  private child: ChildProcess | undefined;

  async start(): Promise<this> {
    const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    this.child = child;
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    this.display = await new Promise<string>((resolve, reject) => {
      let text = '';
      fd3.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) resolve(`:${text.trim()}`);
      });
      child.once('exit', (code) => reject(new Error(`Xvfb exited ${code} before it picked a display`)));
    });
    return this;
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}

/** One run of a lin build in a private copy of mcsim. */
export class Mcsim {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  readonly dir = scratchDir('mcsim');

  constructor(private readonly sdk: Sdk, mcso: string) {
    cpSync(join(sdk.moddable, 'build', 'bin', 'lin', 'release', 'mcsim'), join(this.dir, 'mcsim'));
    mkdirSync(join(this.dir, 'autorun'));
    cpSync(mcso, join(this.dir, 'autorun', 'mc.so'));
    cpSync(join(sdk.moddable, 'build', 'simulators'), join(this.dir, 'autorun', 'simulators'), { recursive: true });
    // mcsim copies mc.so under ~/.config/tech.moddable.mcsim: a private HOME keeps runs apart.
    mkdirSync(join(this.dir, 'home', '.config', 'tech.moddable.mcsim'), { recursive: true });
  }

  start(display: string, xsbugPort: number): void {
    if (this.child) throw new Error('mcsim is already running');
    const env = { ...this.sdk.env, HOME: join(this.dir, 'home'), DISPLAY: display, NO_AT_BRIDGE: '1', XSBUG_HOST: '127.0.0.1', XSBUG_PORT: String(xsbugPort) };
    // detached: its own process group, so a kill reaches mcsim and not only dbus-run-session.
    const child = spawn('dbus-run-session', ['--', join(this.dir, 'mcsim')], { cwd: this.dir, env, stdio: 'ignore', detached: true });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Kills the whole process group (kill -9 is a power cut: no clean MQTT disconnect). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
    await this.exited;
    this.child = undefined;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
