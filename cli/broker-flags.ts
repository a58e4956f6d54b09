// The TLS and login flags of every broker-facing verb (sim, monitor, devices, bridge, console,
// ota push/rollout, session): one definition, so each verb accepts, documents and checks them the
// same way. A password never comes from the command line (it would sit in `ps` and shell history):
// from --password-file, the CANOPY_MQTT_PASSWORD environment variable, or the URL's user info.
import { parseBrokerUrl, type BrokerAddress, type TlsFiles } from '../host/transport.ts';
import { readUserFile } from '../host/user-file.ts';
import { BrokerUrlError, formatBrokerUrl } from '../protocol/broker-url.ts';
import { UsageError } from '../host/flags.ts';
import { redact } from '../host/redact.ts';
import { readCaFile, readClientIdentity, validityProblem } from '../host/client-identity.ts';
import type { FlagSpec } from './flags.ts';

export const PASSWORD_ENV = 'CANOPY_MQTT_PASSWORD';

export const brokerFlags = {
  ca: { type: 'string', value: 'FILE', help: 'TLS: CA certificate (PEM) the broker\'s certificate must chain to' },
  cert: { type: 'string', value: 'FILE', help: 'TLS: client certificate (PEM), e.g. from `canopy ca client`' },
  key: { type: 'string', value: 'FILE', help: 'TLS: client key (PEM)' },
  username: { type: 'string', value: 'NAME', help: 'MQTT user name (or user@ in the URL)' },
  'password-file': { type: 'string', value: 'FILE', help: `MQTT password, first line of FILE (or $${PASSWORD_ENV})` },
  insecure: { type: 'boolean', help: 'accept any broker certificate (test brokers only; warns every run)' },
} as const satisfies Record<string, FlagSpec>;

export interface BrokerFlagValues {
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  'password-file'?: string;
  insecure?: boolean;
}

export interface BrokerConnection {
  /** Host, port, TLS on or off, and the login; give it to SessionDriver as the broker. */
  address: BrokerAddress;
  /** The same with its credentials, for libraries that take a URL string: never print it. */
  url: string;
  /** TLS files, when the connection is TLS. */
  tls?: TlsFiles;
  /** The URL as it may be printed: the user name, no password. */
  display: string;
}

/**
 * The connection the flags describe. TLS is on for mqtts:// (port 8883 unless given) or when any
 * TLS file is given; verification stays on unless --insecure, which warns on every run.
 */
export function brokerConnection(
  verbName: string,
  url: string,
  values: BrokerFlagValues,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): BrokerConnection {
  let address: BrokerAddress;
  try {
    address = parseBrokerUrl(url);
  } catch (err) {
    if (err instanceof BrokerUrlError) throw new UsageError(redact(err.message));
    throw err;
  }
  if (values.cert !== undefined && values.key === undefined) throw new UsageError('--cert needs --key (the client certificate\'s private key)');
  if (values.key !== undefined && values.cert === undefined) throw new UsageError('--key needs --cert (the client certificate it belongs to)');
  // The files now, before anything connects: a wrong file is a sentence naming it, not an OpenSSL
  // error from inside a socket callback.
  if (values.ca !== undefined) readCaFile(values.ca);
  if (values.cert !== undefined && values.key !== undefined) {
    const problem = validityProblem(readClientIdentity(values.cert, values.key), values.cert);
    if (problem) warn(`canopy ${verbName}: warning: ${problem}`);
  }
  let password = address.password;
  if (values['password-file'] !== undefined) {
    const text = readUserFile(values['password-file'], 'password file').toString('utf8');
    password = text.split(/\r?\n/)[0];
    if (password === '') throw new UsageError(`password file ${values['password-file']} is empty`);
  } else if (password === undefined && env[PASSWORD_ENV]) {
    password = env[PASSWORD_ENV];
  }
  const username = values.username ?? address.username;
  if (password !== undefined && username === undefined) {
    throw new UsageError('a password needs a user name: give --username NAME (MQTT has no password without one)');
  }
  const tlsWanted = address.secure || values.ca !== undefined || values.cert !== undefined || values.insecure === true;
  if (values.insecure) warn(`canopy ${verbName}: warning: --insecure: the broker's certificate is not checked; anyone on the path can read and change this session`);
  const tls: TlsFiles | undefined = tlsWanted ? { ca: values.ca, cert: values.cert, key: values.key, rejectUnauthorized: !values.insecure } : undefined;
  const full: BrokerAddress = { ...address, secure: tlsWanted, username, password };
  return { address: full, url: formatBrokerUrl(full, true), tls, display: formatBrokerUrl({ ...full, password: undefined }, true) };
}

/**
 * Says on stderr why the broker cannot be reached (refused, untrusted, certificate refused), once
 * per distinct reason until a connection succeeds, while the session keeps retrying: a verb that
 * waits on devices must not wait in silence on a broker that turns it away.
 */
export function reportConnectionTrouble(verbName: string, driver: { on(event: 'event', listener: (e: { type: string; reason?: string }) => void): unknown }): void {
  let last = '';
  driver.on('event', (e) => {
    if (e.type === 'connected') last = '';
    else if ((e.type === 'connection-lost' || e.type === 'connect-refused') && e.reason && e.reason !== last) {
      last = e.reason;
      process.stderr.write(`${redact(`canopy ${verbName}: ${e.reason}; retrying`)}\n`);
    }
  });
}
