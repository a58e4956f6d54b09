// `canopy bridge`: the home-server service between a Canopy fleet and the tools people pair it with.
// It decodes the fleet's CBOR and (a) republishes readable JSON on a parallel topic tree, (b)
// publishes retained Home Assistant discovery configs, (c) stores every sample in the history
// store. The logic is fleet/bridge.ts; this is flags, messages and signals.
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { brokerConnection, brokerFlags } from '../broker-flags.ts';
import { redact } from '../../host/redact.ts';
import { Topics } from '../../protocol/topics.ts';
import { BrokerUnreachable } from '../../fleet/devices.ts';
import { HistoryError, parseDuration, type HistoryStore } from '../../fleet/history.ts';
import { DEFAULT_DB, openHistory } from '../../fleet/open-history.ts';
import { JSON_PREFIX } from '../../fleet/bridge-core.ts';
import { DISCOVERY_PREFIX } from '../../fleet/ha-discovery.ts';
import { version } from '../version.ts';

const spec = verb({
  name: 'bridge',
  summary: 'Long-running: fleet CBOR → JSON topics, Home Assistant discovery, and the history store.',
  forms: ['--broker URL [--db PATH|postgres://…] [--retain DURATION] [--prefix P] [--json-prefix J] [--discovery-prefix D | --no-discovery]'],
  description: [
    "Subscribes to the fleet's telemetry, events, status, info and health, decodes them with the",
    'shared protocol decoders, and:',
    `  - republishes readable JSON under <json-prefix>/<id>/{state,events/motion,info,health} (default ${JSON_PREFIX});`,
    `  - publishes retained Home Assistant discovery configs per device and field (prefix ${DISCOVERY_PREFIX}),`,
    "    availability bound to the device's status topic, model and firmware version from its info record;",
    `  - stores every sample in the history store (default ${DEFAULT_DB}; postgres://… for PostgreSQL).`,
    'Runs until SIGTERM or Ctrl-C, then stores the samples still waiting and exits 0. Exits 1 when',
    'the broker cannot be reached at start or the history store cannot be opened or goes away.',
  ].join('\n'),
  flags: {
    broker: { type: 'string', value: 'URL', help: "the fleet's broker (mqtt:// or mqtts://)" },
    db: { type: 'string', value: 'PATH|URL', help: `the history store: a SQLite file (default ${DEFAULT_DB}) or a postgres:// URL` },
    retain: { type: 'string', value: 'DURATION', help: 'delete samples older than this (30d, 12h); keep all when absent' },
    prefix: { type: 'string', value: 'P', help: "the fleet's topic prefix (default canopy)" },
    'json-prefix': { type: 'string', value: 'J', help: `root of the JSON topic tree (default ${JSON_PREFIX})` },
    'discovery-prefix': { type: 'string', value: 'D', help: `Home Assistant's discovery prefix (default ${DISCOVERY_PREFIX})` },
    'no-discovery': { type: 'boolean', help: 'publish no Home Assistant discovery configs' },
    'client-id': { type: 'string', value: 'ID', help: "the bridge's MQTT client id (default canopy-bridge; one per bridge)" },
    batch: { type: 'string', value: 'N', help: 'store samples in batches of N (default 500)' },
    'flush-ms': { type: 'string', value: 'MS', help: 'and store what waits at least every MS milliseconds (default 1000)' },
    timeout: { type: 'string', value: 'S', help: 'give up reaching the broker at start after S seconds (default 10)' },
    ...brokerFlags,
  },
  examples: [
    'bridge --broker mqtt://127.0.0.1:1883',
    'bridge --broker mqtt://broker.local:1883 --db postgres://canopy@db.local/canopy --retain 90d',
    'bridge --broker mqtts://broker.local --ca fleet-ca.pem --cert bridge.pem --key bridge.key --db /var/lib/canopy/history.sqlite',
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f } = parse(spec, args);
    if (!f.broker) throw new UsageError('--broker URL is required, e.g. --broker mqtt://127.0.0.1:1883');
    const topicLevels = (flag: string, value: string | undefined) => {
      try {
        if (value !== undefined) new Topics(value);
      } catch (err) {
        throw new UsageError(`--${flag}: ${(err as Error).message}`);
      }
    };
    topicLevels('prefix', f.prefix);
    topicLevels('json-prefix', f['json-prefix']);
    topicLevels('discovery-prefix', f['discovery-prefix']);
    if (f['no-discovery'] && f['discovery-prefix'] !== undefined) throw new UsageError('--discovery-prefix and --no-discovery are alternatives; give one');
    if ((f['json-prefix'] ?? JSON_PREFIX) === (f.prefix ?? 'canopy')) throw new UsageError('--json-prefix must differ from --prefix (the JSON tree sits beside the CBOR one)');
    let retentionMs: number | undefined;
    if (f.retain !== undefined) {
      retentionMs = parseDuration(f.retain);
      if (retentionMs === undefined || retentionMs === 0) throw new UsageError(`--retain must be a duration like 12h, 30d or 90d, got "${f.retain}"`);
    }
    const batch = intFlag('batch', f.batch, 500, 1, 100_000);
    const flushMs = intFlag('flush-ms', f['flush-ms'], 1000, 10, 86_400_000);
    const timeoutS = intFlag('timeout', f.timeout, 10, 1, 3600);
    const conn = brokerConnection('bridge', f.broker, f);

    // Listening before anything is out: one SIGTERM or Ctrl-C ends the run cleanly at any point.
    let quit!: () => void;
    const quitting = new Promise<void>((resolve) => (quit = resolve));
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
    const unlisten = () => {
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
    };

    let store: HistoryStore;
    try {
      store = await openHistory(f.db ?? DEFAULT_DB);
    } catch (err) {
      unlisten();
      if (err instanceof HistoryError) {
        console.error(`canopy bridge: ${err.message}`);
        return 1;
      }
      throw err;
    }
    const { Bridge } = await import('../../fleet/bridge.ts');
    const bridge = new Bridge({
      broker: conn.address,
      tls: conn.tls,
      clientId: f['client-id'],
      topicPrefix: f.prefix,
      jsonPrefix: f['json-prefix'],
      discoveryPrefix: f['no-discovery'] ? null : f['discovery-prefix'],
      bridgeVersion: version(),
      store,
      batch: { batch, everyMs: flushMs },
      retentionMs,
      connectTimeoutMs: timeoutS * 1000,
    });
    let failure: HistoryError | undefined;
    const failed = new Promise<void>((resolve) =>
      bridge.on('failed', (err: HistoryError) => {
        failure = err;
        resolve();
      }),
    );
    bridge.on('session', (e: { type: string; reason?: string }) => {
      if (e.type === 'connection-lost') process.stderr.write(redact(`canopy bridge: ${e.reason}; reconnecting\n`));
    });
    let publishDropped = 0;
    bridge.on('publish-dropped', () => {
      if (++publishDropped === 1) process.stderr.write('canopy bridge: the broker is not taking the JSON and discovery messages; dropping the oldest waiting ones\n');
    });
    let decodeErrors = 0;
    bridge.on('decode-error', (message: string) => {
      // The first few say what is wrong; the count at the end says how often.
      if (++decodeErrors <= 5) process.stderr.write(`canopy bridge: undecodable ${message}\n`);
    });
    try {
      await Promise.race([bridge.start(), quitting]);
    } catch (err) {
      unlisten();
      await store.close();
      if (err instanceof BrokerUnreachable) {
        console.error(`canopy bridge: ${redact(err.message)}`);
        return 1;
      }
      throw err;
    }
    const discovery = f['no-discovery'] ? 'no discovery' : `Home Assistant discovery under ${f['discovery-prefix'] ?? DISCOVERY_PREFIX}/`;
    console.log(`canopy bridge: ${conn.display} → JSON under ${bridge.core.jsonPrefix}/, ${discovery}, history in ${store.kind} ${store.display}`);
    await Promise.race([quitting, failed]);
    unlisten();
    await bridge.stop();
    await store.close();
    const c = bridge.core.counts;
    const summary = `${bridge.batcher.written} samples stored from ${bridge.core.deviceCount} devices, ${c.discoveryConfigs} discovery configs published, ${c.decodeErrors} undecodable messages`;
    if (failure) {
      console.error(`canopy bridge: ${failure.message}; stopped (${summary})`);
      return 1;
    }
    console.log(`canopy bridge: stopped; ${summary}`);
    return 0;
  },
};

export default command;
