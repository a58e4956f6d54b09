// `canopy build`: the firmware through the Moddable SDK's own mcconfig, with the prerequisites
// checked first so a missing SDK, an old TypeScript or a missing ESP-IDF reads as a sentence
// saying what to install, not as a stack trace from deep inside make.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { checkPrerequisites } from '../../host/moddable/prerequisites.ts';
import { redact } from '../../host/redact.ts';
import { APP_BUILD_DIR, holdsApp } from '../../host/app-folder.ts';
import { parse, UsageError, verb } from '../flags.ts';

const spec = verb({
  name: 'build',
  forms: ['--target esp32|lin [flags] [key=value ...]'],
  summary: "Builds the firmware in this project (manifest.json) with the Moddable SDK's mcconfig.",
  args: { 'key=value': 'any other manifest config value, passed to mcconfig' },
  flags: {
    target: { type: 'string', value: 'esp32|lin', help: "esp32: firmware for a generic ESP32 board (needs ESP-IDF); lin: Moddable's Linux simulator (mcsim), with simulated sensors" },
    board: { type: 'string', value: 'NAME', help: 'an SDK board instead of the generic one, e.g. esp32/nodemcu' },
    ssid: { type: 'string', value: 'S', help: 'Wi-Fi network compiled in (esp32)' },
    password: { type: 'string', value: 'P', help: 'Wi-Fi password compiled in (esp32)' },
    broker: { type: 'string', value: 'URL', help: 'broker URL compiled in (config "broker"), e.g. mqtt://192.168.1.10:1883' },
    'device-id': { type: 'string', value: 'ID', help: 'device id compiled in (config "deviceId"); NVS "canopy" overrides it' },
    debug: { type: 'boolean', help: 'a debug build (xsbug); default: release (-t build)' },
    out: { type: 'string', value: 'DIR', help: "mcconfig output folder (default: ./build in an app's folder, else the SDK's build folder)" },
    'dry-run': { type: 'boolean', help: 'check and print the mcconfig command without running it' },
  },
  examples: [
    'build --target esp32 --ssid MyWifi --password secret --broker mqtt://192.168.1.10:1883 --device-id dev-1',
    'build --target lin --dry-run',
    'build --target esp32 --board esp32/nodemcu intervalMs=30000',
  ],
  notes: `Needs: MODDABLE pointing at a built Moddable SDK, TypeScript >= 6 as "tsc" on PATH (mcconfig runs
it), and for esp32 ESP-IDF (IDF_PATH, after sourcing its export.sh).`,
});


export function mcconfigArgs(o: { platform: string; debug: boolean; out?: string; config: string[] }): string[] {
  const args = ['-m', '-p', o.platform];
  if (!o.debug) args.push('-t', 'build');
  else args.push('-d', '-t', 'build');
  if (o.out) args.push('-o', resolve(o.out));
  args.push('manifest.json', ...o.config);
  return args;
}

const command: Command = {
  spec,
  async run(args) {
    const { values: f, positionals } = parse(spec, args);
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
    // In an app's folder (canopy new) the firmware goes to ./build, where `canopy flash` looks for it.
    const out = f.out ?? (holdsApp(process.cwd()) ? APP_BUILD_DIR : undefined);
    const argv = mcconfigArgs({ platform: f.board ?? target, debug: Boolean(f.debug), out, config });
    const shown = redact(argv.join(' '));
    if (f['dry-run']) {
      console.log(`${mcconfig} ${shown}`);
      return 0;
    }
    // mcconfig refuses an -o folder that does not exist yet ("directory not found").
    if (out) mkdirSync(resolve(out), { recursive: true });
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
