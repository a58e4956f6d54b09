// `canopy console`: the web console (console/): fleet table, device plots, OTA uploads and staged
// rollouts, and a browser flasher, served on 127.0.0.1 by default. Any other address needs --host
// and an access token that every request must carry. Flags and lifetime here; the rest is console/.
import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { brokerConnection, brokerFlags } from '../broker-flags.ts';
import { Session } from '../../protocol/session/session.ts';
import { Topics } from '../../protocol/topics.ts';
import type { TrustStore } from '../../protocol/ota/trust.ts';
import { SessionDriver } from '../../host/transport.ts';
import { readTrustStore } from '../../host/user-file.ts';
import { redact } from '../../host/redact.ts';
import { BrokerUnreachable, FleetWatcher } from '../../fleet/devices.ts';
import { HistoryError, type HistoryStore } from '../../fleet/history.ts';
import { HistoryRecorder } from '../../fleet/recorder.ts';
import { MIN_TOKEN_LENGTH } from '../../console/access.ts';
import { openHistory } from '../../console/history-source.ts';
import { Rollouts } from '../../console/rollouts.ts';
import { ConsoleServer } from '../../console/server.ts';

export const TOKEN_ENV = 'CANOPY_CONSOLE_TOKEN';
export const DEFAULT_PORT = 8400;

const spec = verb({
  name: 'console',
  summary: 'Web console: live fleet table, device plots, OTA uploads and staged rollouts, browser flasher.',
  forms: ['--broker URL [--db PATH|URL] [--record] [--trust FILE] [--port N] [--state DIR]', '--broker URL --host ADDR --token T [flags]'],
  description: [
    'Serves a web app for the fleet on the broker: a live table of devices (online, stale, offline,',
    'last values), time-series plots of every telemetry field from the history store, OTA uploads',
    'verified against --trust with the reason codes of `canopy ota verify`, staged rollouts with a',
    'halt button, and a Web Serial flasher. Everything is served from this package: no CDN, works offline.',
    `It binds 127.0.0.1 by default. --host ADDR binds another address and then needs --token (or $${TOKEN_ENV}):`,
    'requests without it are refused. The console never takes a private key: packages are signed with',
    '`canopy ota pack` on your machine and uploaded signed. Ctrl-C stops it.',
  ].join('\n'),
  flags: {
    broker: { type: 'string', value: 'URL', help: "the fleet's broker (mqtt:// or mqtts://)" },
    prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
    db: { type: 'string', value: 'PATH|URL', help: 'history store for the plots: a SQLite file (default canopy-history.sqlite) or postgres://…' },
    record: { type: 'boolean', help: 'also write every live sample into --db (when no bridge records it)' },
    trust: { type: 'string', value: 'FILE', help: 'trust store (`canopy ota pubkey`) that uploaded packages must verify against' },
    state: { type: 'string', value: 'DIR', help: 'where verified packages and rollout state files are kept (default canopy-console)' },
    port: { type: 'string', value: 'N', help: `port to serve on (default ${DEFAULT_PORT}; 0 picks a free one)` },
    host: { type: 'string', value: 'ADDR', help: 'bind this address instead of 127.0.0.1; needs --token' },
    token: { type: 'string', value: 'T', help: `access token every request must carry (≥ ${MIN_TOKEN_LENGTH} characters; or $${TOKEN_ENV})` },
    ...brokerFlags,
  },
  examples: [
    'console --broker mqtt://127.0.0.1:1883 --db canopy-history.sqlite --trust trust.json',
    'console --broker mqtt://127.0.0.1:1883 --db history.sqlite --record --port 0   # record samples too; any free port',
    `console --broker mqtts://broker.local --ca fleet-ca.pem --host 0.0.0.0 --token "$(cat console.token)"`,
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f } = parse(spec, args);
    if (!f.broker) throw new UsageError('--broker URL is required, e.g. --broker mqtt://127.0.0.1:1883');
    const conn = brokerConnection('console', f.broker, f);
    const token = f.token ?? process.env[TOKEN_ENV] ?? undefined;
    if (f.host !== undefined && !token) throw new UsageError(`--host ${f.host} needs --token T (or $${TOKEN_ENV}): beyond 127.0.0.1 every request must carry the access token`);
    if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new UsageError(`the access token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 16)`);
    const port = intFlag('port', f.port, DEFAULT_PORT, 0, 65535);
    const trust: TrustStore | undefined = f.trust ? readTrustStore(f.trust) : undefined;
    const topics = new Topics(f.prefix ?? 'canopy');
    const stateDir = resolve(f.state ?? 'canopy-console');

    let history: HistoryStore | undefined;
    try {
      history = await openHistory(f.db ?? 'canopy-history.sqlite', { write: f.record === true, optional: f.db === undefined });
    } catch (err) {
      if (!(err instanceof HistoryError)) throw err;
      console.error(`canopy console: ${err.message}`);
      return 1;
    }

    const watcher = new FleetWatcher({ broker: conn.url, tls: conn.tls, topicPrefix: f.prefix });
    try {
      await watcher.start();
    } catch (err) {
      history?.close();
      if (!(err instanceof BrokerUnreachable)) throw err;
      console.error(redact(`canopy console: ${err.message}`));
      return 1;
    }
    const recorder = f.record && history ? new HistoryRecorder(watcher, history) : undefined;
    let driver: SessionDriver | undefined;
    const rollouts = new Rollouts(
      () => (driver ??= new SessionDriver(new Session({ clientId: `canopy-console-${Math.random().toString(36).slice(2, 10)}`, cleanSession: false }), conn.address, { tls: conn.tls }).start()),
      topics,
      stateDir,
    );
    const server = new ConsoleServer({ watcher, history, trust, rollouts, stateDir, host: f.host, port, token, brokerDisplay: conn.display });
    try {
      await server.start();
    } catch (err) {
      await watcher.stop();
      history?.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use on ${f.host ?? '127.0.0.1'}; pick another with --port N (0: any free port)`);
      if (code === 'EADDRNOTAVAIL') throw new UsageError(`${f.host} is not an address of this machine`);
      throw err;
    }
    console.log(`canopy console: serving ${server.url} for the fleet on ${conn.display}${token ? ' (open it once as /?token=YOUR_TOKEN)' : ''}`);
    if (!history) console.log('canopy console: no history store (give --db PATH, or --record to start one): device plots stay empty');
    if (!trust) console.log('canopy console: no --trust: OTA uploads are refused until the console is started with a trust store');
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await server.stop();
    recorder?.stop();
    await watcher.stop();
    await driver?.stop();
    history?.close();
    return 0;
  },
};

export default command;
