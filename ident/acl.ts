// Least privilege at the broker, as a mosquitto ACL file. A device's MQTT user name is the CN of
// its certificate (mosquitto: require_certificate + use_identity_as_username), which `canopy
// provision` sets to the device id, so `%u` in a pattern is the device's own id and cannot be
// chosen by the client. `%c` (the client id) is NOT used: a client picks its own id, so a rule on
// %c would let any certificate holder act as any device by naming itself after it.
// The rules, in words, for other brokers: docs/security.md.
import { OTA_TOPICS } from '../protocol/ota/transfer.ts';
import { Topics } from '../protocol/topics.ts';

export class AclError extends Error {
  override name = 'AclError';
}

export interface AclOptions {
  topicPrefix?: string;
  /** User names (certificate CNs) that may command and update any device. */
  technicians?: string[];
  /** User names that may only read. */
  monitors?: string[];
}

export interface Rule {
  access: 'read' | 'write';
  /** A topic filter; `%u` stands for the connecting device's user name. */
  topic: string;
}

/** What one device may do, with `%u` for its id: the layout of protocol/topics.ts. */
export function deviceRules(prefix = 'canopy'): Rule[] {
  new Topics(prefix); // validates the prefix
  const own = (rest: string) => `${prefix}/%u/${rest}`;
  return [
    { access: 'write', topic: own('telemetry') },
    { access: 'write', topic: own('events/+') },
    { access: 'write', topic: own('status') },
    { access: 'write', topic: own('info') },
    { access: 'write', topic: own('health') },
    { access: 'write', topic: own(`ota/${OTA_TOPICS.request}`) },
    { access: 'write', topic: own(`ota/${OTA_TOPICS.status}`) },
    { access: 'read', topic: own('cmd') },
    { access: 'read', topic: own(`ota/${OTA_TOPICS.offer}`) },
    { access: 'read', topic: own(`ota/${OTA_TOPICS.block}`) },
  ];
}

/**
 * `canopy devices` learns that the broker has handed over every retained record by publishing to a
 * topic of its own and waiting for it (fleet/devices.ts): people who list the fleet may write and
 * read there, outside the fleet's prefix, where no device listens.
 */
export const WATCHER_SYNC: Rule[] = [
  { access: 'write', topic: 'canopy-devices/+/sync' },
  { access: 'read', topic: 'canopy-devices/+/sync' },
];

export function technicianRules(prefix = 'canopy'): Rule[] {
  return [
    ...WATCHER_SYNC,
    { access: 'write', topic: `${prefix}/+/cmd` },
    { access: 'write', topic: `${prefix}/+/ota/${OTA_TOPICS.offer}` },
    { access: 'write', topic: `${prefix}/+/ota/${OTA_TOPICS.block}` },
    // Pushes and rollouts follow each device's OTA requests and status, and read the fleet's.
    { access: 'read', topic: `${prefix}/#` },
  ];
}

export const monitorRules = (prefix = 'canopy'): Rule[] => [{ access: 'read', topic: `${prefix}/#` }, ...WATCHER_SYNC];

/**
 * A person's or tool's user name (its certificate CN). It goes on a line of its own in the ACL file:
 * anything beyond these characters could end the line and add rules.
 */
export const USER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function mosquittoAcl(o: AclOptions = {}): string {
  const prefix = o.topicPrefix ?? 'canopy';
  const technicians = o.technicians ?? [];
  const monitors = o.monitors ?? [];
  for (const u of [...technicians, ...monitors]) if (!USER_NAME.test(u)) throw new AclError(`user name "${u}" must match [A-Za-z0-9_.-]{1,64}`);
  const both = technicians.filter((u) => monitors.includes(u));
  if (both.length) throw new AclError(`${both.join(', ')} cannot be both technician and monitor`);
  const lines = [
    '# Canopy broker ACL for mosquitto, written by `canopy acl --broker-kind mosquitto`.',
    '# Needs, on a TLS listener: require_certificate true, use_identity_as_username true, acl_file <this file>.',
    '# A device\'s user name is its certificate\'s CN, its device id; %u below is that id.',
    '# Anything not allowed here is denied. The rules in words: docs/security.md.',
    '',
    '# Devices: publish only their own telemetry, events, status, info, health, OTA requests and status;',
    '# receive only their own commands, OTA offers and blocks.',
    ...deviceRules(prefix).map((r) => `pattern ${r.access} ${r.topic}`),
  ];
  const role = (title: string, users: string[], rules: Rule[]) => {
    if (!users.length) return;
    lines.push('', `# ${title}`);
    for (const u of users) lines.push(`user ${u}`, ...rules.map((r) => `topic ${r.access} ${r.topic}`));
  };
  role('Technicians: command and update any device, read everything under the prefix.', technicians, technicianRules(prefix));
  role('Monitors: read only (beside the private sync topic `canopy devices` uses).', monitors, monitorRules(prefix));
  return lines.join('\n') + '\n';
}
