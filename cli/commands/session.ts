// `canopy session`: one protocol Session against a broker, for checking a broker URL, TLS files
// and credentials from a terminal. `--demo` starts the embedded broker and publishes telemetry.
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { Session } from '../../protocol/session/session.ts';
import { Outbox } from '../../protocol/session/outbox.ts';
import type { QoS } from '../../protocol/mqtt/packets.ts';
import { utf8Decode, utf8Encode } from '../../protocol/utf8.ts';
import { SessionDriver } from '../../host/transport.ts';
import { EmbeddedBroker } from '../../host/broker.ts';
import { FileStore } from '../../host/file-store.ts';
import { redact } from '../../host/redact.ts';
import { errorLine, eventLine } from '../output.ts';
import { brokerConnection, brokerFlags, type BrokerConnection } from '../broker-flags.ts';

const spec = verb({
  name: 'session',
  forms: ['--broker URL [flags]', '--demo [flags]'],
  summary: 'Runs one MQTT session (the same protocol module the device runs) and prints its events.',
  flags: {
    broker: { type: 'string', value: 'URL', help: 'mqtt://host:port or mqtts://host (port 8883); user@ allowed, the password from --password-file' },
    demo: { type: 'boolean', help: 'start the embedded broker on 127.0.0.1 and use it' },
    'client-id': { type: 'string', value: 'ID', help: 'client id (default canopy-<random>)' },
    clean: { type: 'boolean', help: 'clean session (default: persistent)' },
    keepalive: { type: 'string', value: 'S', help: 'keepalive seconds (default 30)' },
    status: { type: 'string', value: 'TOPIC', help: 'retained status topic: "online" on connect, "offline" as the will' },
    sub: { type: 'string', multiple: true, value: 'FILTER', help: 'subscribe; received messages are printed' },
    pub: { type: 'string', multiple: true, value: 'TOPIC=TEXT', help: 'publish TEXT' },
    qos: { type: 'string', value: 'N', help: 'QoS for --sub and --pub (default 1)' },
    every: { type: 'string', value: 'MS', help: 'repeat the --pub messages every MS milliseconds' },
    duration: { type: 'string', value: 'S', help: 'stop cleanly after S seconds (default: run until Ctrl-C)' },
    store: { type: 'string', value: 'FILE', help: 'keep QoS 1/2 messages in FILE across restarts' },
    json: { type: 'boolean', help: 'one JSON object per event' },
    ...brokerFlags,
  },
  examples: [
    "session --demo --sub 'canopy/#' --pub canopy/me/hello=hi --duration 2",
    "session --broker mqtt://127.0.0.1:1883 --status canopy/me/status --sub 'canopy/#'",
    "session --broker mqtts://broker:8883 --ca ca.pem --cert me.pem --key me.key --sub '#'",
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values } = parse(spec, args);
    if (!values.broker && !values.demo) throw new UsageError('give --broker URL, or --demo to use the embedded broker');
    if (values.broker && values.demo) throw new UsageError('--broker and --demo exclude each other');
    if (values.demo) {
      const given = (['ca', 'cert', 'key', 'username', 'password-file', 'insecure'] as const).filter((k) => values[k] !== undefined);
      if (given.length) throw new UsageError(`--${given[0]} is for --broker; the --demo broker is plain mqtt:// on loopback with no login`);
    }
    // TLS files, login and URL checked before the embedded broker or any socket starts.
    const conn: BrokerConnection | undefined = values.broker ? brokerConnection('session', values.broker, values) : undefined;
    const qos = intFlag('qos', values.qos, 1, 0, 2) as QoS;
    const keepalive = intFlag('keepalive', values.keepalive, 30, 0, 65535);
    const every = values.every === undefined ? undefined : intFlag('every', values.every, 1000, 1);
    const duration = values.duration === undefined ? undefined : intFlag('duration', values.duration, 0, 1);
    const pubs = (values.pub ?? []).map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UsageError(`--pub needs TOPIC=TEXT, got "${p}"`);
      return { topic: p.slice(0, eq), payload: utf8Encode(p.slice(eq + 1)) };
    });

    // Before the embedded broker starts: options the Session refuses end the command at once.
    const clientId = values['client-id'] ?? `canopy-${Math.random().toString(16).slice(2, 10)}`;
    const store = values.store ? new FileStore(values.store) : undefined;
    const session = new Session({
      clientId,
      cleanSession: values.clean ?? false,
      keepalive,
      status: values.status ? { topic: values.status } : undefined,
      outbox: new Outbox({ store }),
    });
    let broker: EmbeddedBroker | undefined;
    let driver: SessionDriver;
    if (conn) driver = new SessionDriver(session, conn.address, { tls: conn.tls });
    else {
      broker = await new EmbeddedBroker({ port: 1883, fallbackToFreePort: true }).start();
      console.error(`embedded broker listening on ${broker.url}`);
      driver = new SessionDriver(session, broker.url);
    }
    driver.on('event', (e) => print(e, values.json ?? false));
    // Whether the run ever got a session: one that only ever saw refusals did not do what was asked.
    let connected = false;
    let trouble = '';
    driver.on('event', (e: { type: string; reason?: string }) => {
      if (e.type === 'connected') connected = true;
      else if ((e.type === 'connection-lost' || e.type === 'connect-refused') && e.reason) trouble = e.reason;
    });
    if (values.sub?.length) driver.subscribe(values.sub.map((topic) => ({ topic, qos })));
    const publishAll = () => {
      for (const p of pubs) driver.publish(p.topic, p.payload, { qos });
    };
    publishAll();
    const repeat = every ? setInterval(publishAll, every) : undefined;
    driver.start();

    let stoppedBySignal = false;
    await new Promise<void>((resolve) => {
      const timer = duration ? setTimeout(resolve, duration * 1000) : undefined;
      const stop = () => {
        stoppedBySignal = true;
        if (timer) clearTimeout(timer);
        process.off('SIGINT', stop).off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop).once('SIGTERM', stop);
    });
    if (repeat) clearInterval(repeat);
    await driver.stop();
    store?.close();
    await broker?.stop();
    // Run to its --duration without ever connecting: the session it was asked for never existed.
    // Stopped by the user instead, it is the clean stop they asked for (exit 0).
    if (!connected && !stoppedBySignal) {
      const where = conn?.display ?? 'the embedded broker';
      const message = `never connected to ${where}${trouble ? `: ${trouble}` : ''}`;
      if (values.json) console.log(redact(errorLine('session', { reason: 'error', code: 1, message })));
      else console.error(redact(`canopy session: ${message}`));
      return 1;
    }
    return 0;
  },
};

function print(e: Record<string, unknown> & { type: string }, json: boolean): void {
  const shown = e.type === 'message' ? { ...e, payload: describePayload(e.payload as Uint8Array) } : e;
  const { type, ...rest } = shown;
  if (json) {
    console.log(redact(eventLine({ kind: type, ...rest }, new Date())));
    return;
  }
  console.log(redact(`${new Date().toISOString()} ${type.padEnd(16)} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`));
}

/** Text when it is printable UTF-8, hex otherwise (CBOR telemetry is binary). */
function describePayload(p: Uint8Array): string {
  try {
    const s = utf8Decode(p);
    if (/^[\x20-\x7e\s]*$/.test(s)) return s;
  } catch {
    // not UTF-8: fall through to hex
  }
  return `0x${Array.from(p, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export default command;
