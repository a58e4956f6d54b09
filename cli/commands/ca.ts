// `canopy ca`: the fleet CA, and certificates for the people, tools and broker around the devices
// (devices get theirs from `canopy provision`).
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { caSpecs } from './ca-specs.ts';
import { KEY_TYPES, keyPem, type KeyType } from '../../ident/certificates.ts';
import { caFiles, defaultCaDir, initCa, issue, loadCa } from '../../ident/fleet-ca.ts';
import { writeIdentityFile } from '../../ident/files.ts';
import { USER_NAME } from '../../ident/acl.ts';

const spec = verb({
  name: 'ca',
  forms: ['<verb> [flags]'],
  description: [
    'The fleet CA, and certificates for the people, tools and broker around the devices (devices get',
    'theirs from `canopy provision`).',
    '',
    'Verbs:',
    ...Object.entries(caSpecs).map(([name, v]) => `  ${name.padEnd(10)} ${v.summary}`),
    '',
    'Run `npx canopy ca <verb> --help` for its flags and examples.',
  ].join('\n'),
  flags: {},
  examples: ['ca init', 'ca server broker --host broker.example --out broker/', 'ca client --help'],
});

export function keyTypeFlag(v: string | undefined, fallback: KeyType): KeyType {
  if (v === undefined) return fallback;
  if (!(KEY_TYPES as readonly string[]).includes(v)) throw new UsageError(`--key-type must be ${KEY_TYPES.join(' or ')}, got "${v}"`);
  return v as KeyType;
}

async function init(args: string[]): Promise<number> {
  const { values } = parse(caSpecs.init, args);
  const dir = values['ca-dir'] ?? defaultCaDir();
  const ca = initCa(dir, { name: values.name, days: intFlag('days', values.days, 3650, 1, 36500), keyType: keyTypeFlag(values['key-type'], 'p256'), force: values.force });
  const files = caFiles(dir);
  console.log(`fleet CA "${ca.cert.subject.replace(/\n/g, ', ')}" valid until ${ca.cert.validTo}`);
  console.log(`  key  ${files.key} (mode 0600; keep it offline, it can mint any device)`);
  console.log(`  cert ${files.cert} (give it to the broker as its cafile)`);
  return 0;
}

async function certificate(kind: 'client' | 'server', args: string[]): Promise<number> {
  // A client's flags are the server's less --host, so both parse with the server's spec: --host on
  // a client then gets a sentence saying what it is for rather than "Unknown option".
  const { values, positionals } = parse(caSpecs.server, args);
  if (positionals.length !== 1) throw new UsageError(`give exactly one NAME`);
  const name = positionals[0];
  if (!USER_NAME.test(name)) throw new UsageError(`NAME "${name}" must match [A-Za-z0-9_.-]{1,64}`);
  if (kind === 'server' && !values.host?.length) throw new UsageError('a server certificate needs --host');
  if (kind === 'client' && values.host) throw new UsageError('--host is for server certificates');
  const ca = loadCa(values['ca-dir'] ?? defaultCaDir());
  const keyType = keyTypeFlag(values['key-type'], kind === 'server' ? 'rsa2048' : 'p256');
  let issued;
  try {
    issued = issue(ca, name, kind, { keyType, days: intFlag('days', values.days, 825, 1, 36500), hosts: values.host });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const out = values.out ?? '.';
  writeIdentityFile(join(out, `${name}.key`), keyPem(issued.key), { mode: 0o600, force: values.force });
  writeIdentityFile(join(out, `${name}.pem`), issued.cert.toString(), { mode: 0o644, force: values.force });
  console.log(`${kind} certificate CN=${name} valid until ${issued.cert.validTo}: ${join(out, `${name}.pem`)}, key ${join(out, `${name}.key`)} (0600)`);
  return 0;
}

const verbs: Record<keyof typeof caSpecs, (args: string[]) => Promise<number>> = {
  init,
  client: (args) => certificate('client', args),
  server: (args) => certificate('server', args),
};

const command: Command = {
  spec,
  subverbs: caSpecs,
  async run(args) {
    const [name, ...rest] = args;
    const run = name !== undefined && Object.hasOwn(verbs, name) ? verbs[name as keyof typeof verbs] : undefined;
    if (run) return run(rest);
    // A flag before any verb (`canopy ca --frob`) is a flag `ca` does not have: say so as every verb does.
    if (name?.startsWith('-')) parse(spec, args);
    throw new UsageError(name ? `unknown verb "${name}"` : 'give a verb: init, client or server');
  },
};

export default command;
