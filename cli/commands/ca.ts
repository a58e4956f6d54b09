// `canopy ca`: the fleet CA, and certificates for the people, tools and broker around the devices
// (devices get theirs from `canopy provision`).
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { verb } from '../flags.ts';
import { intFlag, parseFlags, UsageError } from '../../host/flags.ts';
import { KEY_TYPES, keyPem, type KeyType } from '../../ident/certificates.ts';
import { caFiles, defaultCaDir, initCa, issue, loadCa } from '../../ident/fleet-ca.ts';
import { writeIdentityFile } from '../../ident/files.ts';
import { USER_NAME } from '../../ident/acl.ts';

const usage = `Usage: canopy ca <verb> [flags]

  init [--ca-dir DIR] [--name CN] [--days N] [--key-type p256|rsa2048] [--force]
       a new fleet CA: DIR/ca.key (mode 0600) and DIR/ca.pem (default DIR ~/.canopy/ca, 3650 days,
       P-256); refuses to replace an existing one without --force
  client NAME [--out DIR] [--days N] [--key-type p256|rsa2048] [--ca-dir DIR] [--force]
       a TLS client certificate with CN = NAME for a technician or monitor (its ACL user name):
       DIR/NAME.key (0600) and DIR/NAME.pem (default DIR ., 825 days, P-256)
  server NAME --host H [--host H...] [same flags as client]
       a TLS server certificate for the broker, valid for each host name or IPv4 address H
       (RSA-2048 by default: the Moddable firmware's TLS negotiates ECDHE_RSA only)`;

export function keyTypeFlag(v: string | undefined, fallback: KeyType): KeyType {
  if (v === undefined) return fallback;
  if (!(KEY_TYPES as readonly string[]).includes(v)) throw new UsageError(`--key-type must be ${KEY_TYPES.join(' or ')}, got "${v}"`);
  return v as KeyType;
}

const command: Command = {
  // The verb's usage text as written before cli/flags.ts; its flags move into the spec next.
  spec: verb({ name: 'ca', summary: 'Fleet CA: init, and client/server certificates.', description: usage, flags: {}, examples: [] }),
  async run(args) {
    const [verb, ...rest] = args;
    const common = { 'ca-dir': { type: 'string' }, days: { type: 'string' }, 'key-type': { type: 'string' }, force: { type: 'boolean' } } as const;
    if (verb === 'init') {
      const { values } = parseFlags(rest, { ...common, name: { type: 'string' } });
      const dir = values['ca-dir'] ?? defaultCaDir();
      const ca = initCa(dir, { name: values.name, days: intFlag('days', values.days, 3650, 1, 36500), keyType: keyTypeFlag(values['key-type'], 'p256'), force: values.force });
      const files = caFiles(dir);
      console.log(`fleet CA "${ca.cert.subject.replace(/\n/g, ', ')}" valid until ${ca.cert.validTo}`);
      console.log(`  key  ${files.key} (mode 0600; keep it offline, it can mint any device)`);
      console.log(`  cert ${files.cert} (give it to the broker as its cafile)`);
      return 0;
    }
    if (verb === 'client' || verb === 'server') {
      const { values, positionals } = parseFlags(rest, { ...common, out: { type: 'string' }, host: { type: 'string', multiple: true } }, true);
      if (positionals.length !== 1) throw new UsageError(`give exactly one NAME`);
      const name = positionals[0];
      if (!USER_NAME.test(name)) throw new UsageError(`NAME "${name}" must match [A-Za-z0-9_.-]{1,64}`);
      if (verb === 'server' && !values.host?.length) throw new UsageError('a server certificate needs --host');
      if (verb === 'client' && values.host) throw new UsageError('--host is for server certificates');
      const ca = loadCa(values['ca-dir'] ?? defaultCaDir());
      const keyType = keyTypeFlag(values['key-type'], verb === 'server' ? 'rsa2048' : 'p256');
      let issued;
      try {
        issued = issue(ca, name, verb, { keyType, days: intFlag('days', values.days, 825, 1, 36500), hosts: values.host });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const out = values.out ?? '.';
      writeIdentityFile(join(out, `${name}.key`), keyPem(issued.key), { mode: 0o600, force: values.force });
      writeIdentityFile(join(out, `${name}.pem`), issued.cert.toString(), { mode: 0o644, force: values.force });
      console.log(`${verb} certificate CN=${name} valid until ${issued.cert.validTo}: ${join(out, `${name}.pem`)}, key ${join(out, `${name}.key`)} (0600)`);
      return 0;
    }
    throw new UsageError(verb ? `unknown verb "${verb}"` : 'give a verb: init, client or server');
  },
};

export default command;
