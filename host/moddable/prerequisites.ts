// What a Moddable SDK build needs on this machine, checked all at once so that a missing SDK, an
// old TypeScript or a missing ESP-IDF reads as sentences saying what to install. `canopy build`
// and the real-SDK suite (npm run test:moddable) both ask here.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

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

export function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}
