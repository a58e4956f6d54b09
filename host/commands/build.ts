// `canopy build`: the firmware through the Moddable SDK's own mcconfig, with the prerequisites
// checked first so a missing SDK, an old TypeScript or a missing ESP-IDF reads as a sentence
// saying what to install, not as a stack trace from deep inside make.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { Command } from '../cli.ts';
import { parseFlags, UsageError } from '../usage.ts';
import { redact } from '../redact.ts';

const usage = `Usage: canopy build --target esp32|lin [flags] [key=value ...]

Builds the firmware in this project (manifest.json) with the Moddable SDK's mcconfig.

  --target esp32|lin   esp32: firmware for a generic ESP32 board (needs ESP-IDF);
                       lin: Moddable's Linux simulator (mcsim), with simulated sensors
  --board NAME         an SDK board instead of the generic one, e.g. esp32/nodemcu
  --ssid S             Wi-Fi network compiled in (esp32)
  --password P         Wi-Fi password compiled in (esp32)
  --broker URL         broker URL compiled in (config "broker"), e.g. mqtt://192.168.1.10:1883
  --device-id ID       device id compiled in (config "deviceId"); NVS "canopy" overrides it
  --debug              a debug build (xsbug); default: release (-t build)
  --out DIR            mcconfig output folder (default: the SDK's build folder)
  --dry-run            check and print the mcconfig command without running it
  key=value            any other manifest config value, passed to mcconfig

Needs: MODDABLE pointing at a built Moddable SDK, TypeScript >= 6 as "tsc" on PATH (mcconfig runs
it), and for esp32 ESP-IDF (IDF_PATH, after sourcing its export.sh).`;

export interface BuildEnvironment {
  env: NodeJS.ProcessEnv;
  /** Runs `tsc -v` (or any version probe); returns its stdout, or undefined when it cannot run. */
  probe(command: string, args: string[]): string | undefined;
}

const defaultEnvironment: BuildEnvironment = {
  env: process.env,
  probe(command, args) {
    const r = spawnSync(command, args, { encoding: 'utf8' });
    return r.error || r.status !== 0 ? undefined : r.stdout;
  },
};

/** Every prerequisite problem at once, so one run tells the whole story. */
export function checkPrerequisites(target: 'esp32' | 'lin', e: BuildEnvironment = defaultEnvironment): { mcconfig: string; problems: string[] } {
  const problems: string[] = [];
  const moddable = e.env.MODDABLE;
  let mcconfig = 'mcconfig';
  if (!moddable) {
    problems.push('MODDABLE is not set: install the Moddable SDK (https://github.com/Moddable-OpenSource/moddable, "Getting Started") and export MODDABLE=/path/to/moddable');
  } else if (!existsSync(moddable)) {
    problems.push(`MODDABLE=${moddable} does not exist`);
  } else {
    const built = join(moddable, 'build', 'bin', 'lin', 'release', 'mcconfig');
    const onPath = findOnPath('mcconfig', e.env.PATH);
    if (onPath) mcconfig = onPath;
    else if (existsSync(built)) mcconfig = built;
    else problems.push(`mcconfig not found on PATH or in ${join(moddable, 'build/bin/lin/release')}: build the SDK's tools (cd $MODDABLE/build/makefiles/lin && make) and add that folder to PATH`);
  }
  const version = e.probe('tsc', ['-v']);
  const m = version ? /Version (\d+)\.(\d+)/.exec(version) : null;
  if (!version) problems.push('tsc (TypeScript) is not on PATH: mcconfig runs it for .ts modules; install TypeScript 6 or later (npm install -g typescript@6)');
  else if (!m || Number(m[1]) < 6) problems.push(`tsc on PATH is ${version.trim()}; mcconfig needs TypeScript 6 or later (npm install -g typescript@6)`);
  if (target === 'esp32') {
    const idf = e.env.IDF_PATH;
    if (!idf) problems.push('IDF_PATH is not set: install ESP-IDF v6 as the Moddable SDK\'s ESP32 guide says, then `source $IDF_PATH/export.sh`');
    else if (!existsSync(idf)) problems.push(`IDF_PATH=${idf} does not exist`);
  }
  return { mcconfig, problems };
}

function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function mcconfigArgs(o: { platform: string; debug: boolean; out?: string; config: string[] }): string[] {
  const args = ['-m', '-p', o.platform];
  if (!o.debug) args.push('-t', 'build');
  else args.push('-d', '-t', 'build');
  if (o.out) args.push('-o', resolve(o.out));
  args.push('manifest.json', ...o.config);
  return args;
}

const command: Command = {
  summary: 'build the firmware with the Moddable SDK (mcconfig) for esp32 or lin',
  usage,
  async run(args) {
    const { values: f, positionals } = parseFlags(
      args,
      {
        target: { type: 'string' },
        board: { type: 'string' },
        ssid: { type: 'string' },
        password: { type: 'string' },
        broker: { type: 'string' },
        'device-id': { type: 'string' },
        debug: { type: 'boolean' },
        out: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
      true,
    );
    const target = f.target;
    if (target !== 'esp32' && target !== 'lin') throw new UsageError(`--target must be esp32 or lin${target ? `, got "${target}"` : ''}`);
    if (f.board && !f.board.startsWith(`${target}/`)) throw new UsageError(`--board ${f.board} is not an ${target} board (expected ${target}/<name>)`);
    if (target === 'lin' && (f.ssid || f.password)) throw new UsageError('--ssid and --password are for esp32 builds; lin uses the host network');
    for (const p of positionals) if (!/^[A-Za-z_][\w.]*=/.test(p)) throw new UsageError(`"${p}" is neither a flag nor a key=value config setting`);
    if (!existsSync('manifest.json')) throw new Error('no manifest.json here: run canopy build from the project folder');
    const config = [...positionals];
    if (f.ssid) config.push(`ssid=${f.ssid}`);
    if (f.password) config.push(`password=${f.password}`);
    if (f.broker) config.push(`broker=${f.broker}`);
    if (f['device-id']) config.push(`deviceId=${f['device-id']}`);
    const { mcconfig, problems } = checkPrerequisites(target);
    if (problems.length) {
      console.error(`canopy build: cannot build for ${target} yet:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return 1;
    }
    const argv = mcconfigArgs({ platform: f.board ?? target, debug: Boolean(f.debug), out: f.out, config });
    const shown = redact(argv.join(' '));
    if (f['dry-run']) {
      console.log(`${mcconfig} ${shown}`);
      return 0;
    }
    console.error(`canopy build: ${mcconfig} ${shown}`);
    const code = await new Promise<number>((done) => {
      const child = spawn(mcconfig, argv, { stdio: 'inherit' });
      child.on('error', (err) => {
        console.error(`canopy build: could not run mcconfig: ${err.message}`);
        done(1);
      });
      child.on('close', (c) => done(c ?? 1));
    });
    if (code !== 0) console.error(`canopy build: mcconfig failed (exit ${code}); a TypeScript error above names the file and line`);
    return code === 0 ? 0 : 1;
  },
};

export default command;
