// `canopy acl`: the broker's access rules for a fleet (ident/acl.ts).
import { writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parse, UsageError, verb } from '../flags.ts';
import { AclError, mosquittoAcl } from '../../ident/acl.ts';

const spec = verb({
  name: 'acl',
  forms: ['--broker-kind mosquitto [--technician NAME ...] [--monitor NAME ...] [--prefix P] [--out FILE]'],
  description: [
    'Devices may publish only their own telemetry, events, status, info, health, OTA requests and status,',
    'and receive only their own commands, OTA offers and blocks. Technicians may also command and update',
    "any device; monitors only read (and use the private sync topic of `canopy devices`). NAME is the CN",
    "of that person's certificate (`canopy ca client`).",
    'The mosquitto listener needs require_certificate true and use_identity_as_username true.',
    'Prints the ACL file, or writes it to FILE. The rules in words, for other brokers: docs/security.md.',
  ].join('\n'),
  flags: {
    'broker-kind': { type: 'string', value: 'KIND', help: 'the broker the rules are for: mosquitto (the only one so far)' },
    technician: { type: 'string', multiple: true, value: 'NAME', help: 'a technician: commands and updates any device, reads everything under the prefix' },
    monitor: { type: 'string', multiple: true, value: 'NAME', help: 'a monitor: reads everything under the prefix, publishes nothing' },
    prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
    out: { type: 'string', value: 'FILE', help: 'write the ACL file here instead of printing it' },
  },
  examples: [
    'acl --broker-kind mosquitto --technician tech-alice --monitor dashboard --out /etc/mosquitto/canopy.acl',
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values } = parse(spec, args);
    const kind = values['broker-kind'];
    if (kind === undefined) throw new UsageError('--broker-kind is required (mosquitto)');
    if (kind !== 'mosquitto') throw new UsageError(`--broker-kind "${kind}" is not supported yet; only mosquitto (see docs/security.md to write the rules for others)`);
    let text: string;
    try {
      text = mosquittoAcl({ topicPrefix: values.prefix, technicians: values.technician, monitors: values.monitor });
    } catch (err) {
      if (err instanceof AclError || (err as Error).name === 'TopicError') throw new UsageError((err as Error).message);
      throw err;
    }
    if (values.out === undefined) {
      console.log(text.trimEnd());
      return 0;
    }
    try {
      writeFileSync(values.out, text, { mode: 0o644 });
    } catch (err) {
      throw new Error(`cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    console.log(`wrote ${values.out}`);
    return 0;
  },
};

export default command;
