// `canopy new NAME`: scaffolds a device app on the SDK in NAME/ (cli/app-template.ts): manifest,
// main, telemetry declaration, simulator sensor models, a vitest test, tsconfig, package.json and
// README. Its manifest includes the SDK's manifest_sdk.json where this Canopy is installed
// (node_modules/canopy), by a path relative to the app, as mcconfig resolves includes.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { parse, UsageError, verb } from '../flags.ts';
import { appFiles } from '../app-template.ts';
import { version } from '../version.ts';

const spec = verb({
  name: 'new',
  forms: ['NAME'],
  summary: 'Scaffolds a device app in a new folder NAME/: manifest, main, telemetry, sim models, test, README.',
  args: { NAME: 'the app\'s name and folder: lower-case letters, digits and dashes, starting with a letter (at most 32)' },
  flags: {},
  examples: ['new soil-probe && cd soil-probe && npx canopy sim --virtual-time --duration 10m --json'],
  notes: `Run it where Canopy is installed (npm install canopy): the app's manifest includes
node_modules/canopy/manifest_sdk.json. In the new folder, canopy sim, canopy build --target lin|esp32
and canopy flash work on the app.`,
});

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

const command: Command = {
  spec,
  async run(args) {
    const { positionals } = parse(spec, args);
    if (positionals.length === 0) throw new UsageError('say the app\'s name: canopy new NAME');
    if (positionals.length > 1) throw new UsageError(`one name only, got ${positionals.length}: ${positionals.join(' ')}`);
    const [name] = positionals;
    if (!NAME.test(name)) throw new UsageError(`"${name}" is not an app name: lower-case letters, digits and dashes, starting with a letter, at most 32 (it names the folder, the telemetry and the app's modules)`);
    const dir = resolve(name);
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new Error(`${name} exists and is not a folder: choose another name`);
      if (readdirSync(dir).length) throw new Error(`${name}/ exists and is not empty: choose another name or empty it (nothing was written)`);
    }
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const sdk = relative(dir, root).split(sep).join('/') || '.';
    const files = appFiles({ name, sdk, version: version() });
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    console.log(`canopy new: wrote ${name}/ (${Object.keys(files).join(', ')}); the SDK from ${sdk}
next:
  cd ${name}
  npx canopy sim --virtual-time --duration 10m --json
  npx canopy build --target lin`);
    return 0;
  },
};

export default command;
