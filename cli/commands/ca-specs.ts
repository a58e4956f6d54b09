// The flags, forms and examples of every `canopy ca` verb, and the identity flags `canopy provision`
// shares with them: what each parses and what its `--help` says (cli/flags.ts). Kept apart from
// cli/commands/ca.ts, which does the work.
import { verb, type FlagSpec } from '../flags.ts';
import { KEY_TYPES } from '../../ident/certificates.ts';

export const caDirFlag = { type: 'string', value: 'DIR', help: 'the fleet CA from `canopy ca init` (default ~/.canopy/ca)' } as const satisfies FlagSpec;
export const daysFlag = (fallback: string) => ({ type: 'string', value: 'N', help: `certificate lifetime in days (default ${fallback})` }) as const satisfies FlagSpec;
export const keyTypeFlagSpec = (fallback: string) => ({ type: 'string', value: KEY_TYPES.join('|'), help: `key type (default ${fallback})` }) as const satisfies FlagSpec;

const certFlags = (keyTypeDefault: string) =>
  ({
    out: { type: 'string', value: 'DIR', help: 'where to write NAME.key (mode 0600) and NAME.pem (default .)' },
    days: daysFlag('825, never past the CA\'s'),
    'key-type': keyTypeFlagSpec(keyTypeDefault),
    'ca-dir': caDirFlag,
    force: { type: 'boolean', help: 'replace existing NAME.key and NAME.pem' },
  }) as const satisfies Record<string, FlagSpec>;

export const caSpecs = {
  init: verb({
    name: 'ca init',
    summary: 'A new fleet CA: DIR/ca.key (mode 0600) and DIR/ca.pem; refuses to replace an existing one without --force.',
    flags: {
      'ca-dir': { type: 'string', value: 'DIR', help: 'where to write it (default ~/.canopy/ca)' },
      name: { type: 'string', value: 'CN', help: 'the CA certificate\'s common name' },
      days: daysFlag('3650'),
      'key-type': keyTypeFlagSpec('p256'),
      force: { type: 'boolean', help: 'replace an existing CA (locks out every device it issued)' },
    },
    examples: ['ca init', 'ca init --ca-dir ./fleet-ca --name "Greenhouse fleet CA"'],
  }),
  client: verb({
    name: 'ca client',
    forms: ['NAME [flags]'],
    summary: 'A TLS client certificate with CN = NAME for a technician or monitor (NAME is their ACL user name).',
    args: { NAME: 'the certificate\'s CN: [A-Za-z0-9_.-]{1,64}' },
    flags: certFlags('p256'),
    examples: ['ca client tech-alice --out people/   # a technician', 'ca client dashboard --out people/   # a monitor'],
  }),
  server: verb({
    name: 'ca server',
    forms: ['NAME --host H [--host H ...] [flags]'],
    summary: 'A TLS server certificate for the broker, valid for each host name or IPv4 address H.',
    args: { NAME: 'the certificate\'s CN and file name: [A-Za-z0-9_.-]{1,64}' },
    flags: {
      host: { type: 'string', multiple: true, value: 'H', help: 'a host name or IPv4 address the broker is reached at' },
      ...certFlags('rsa2048: the Moddable firmware\'s TLS negotiates ECDHE_RSA only'),
    },
    examples: ['ca server broker --host broker.example --host 192.168.1.10 --out broker/'],
  }),
};
