// `canopy session`: one protocol Session against a broker, for checking a broker URL, TLS files
// and credentials from a terminal. `--demo` starts the embedded broker and publishes telemetry.
import type { Command } from '../cli.ts';
import { parseFlags, intFlag, UsageError } from '../usage.ts';
import { Session } from '../../protocol/session/session.ts';
import { Outbox } from '../../protocol/session/outbox.ts';
import type { QoS } from '../../protocol/mqtt/packets.ts';
import { utf8Decode, utf8Encode } from '../../protocol/utf8.ts';
import { SessionDriver } from '../transport.ts';
import { EmbeddedBroker } from '../broker.ts';
import { FileStore } from '../file-store.ts';
import { redact } from '../redact.ts';

const usage = `Usage: canopy session [--broker URL | --demo] [flags]

Runs one MQTT session (the same protocol module the device runs) and prints its events.

  --broker URL        mqtt://host:port or mqtts://host:port (user:pass@ allowed)
  --demo              start the embedded broker on 127.0.0.1 and use it
  --client-id ID      client id (default canopy-<random>)
  --clean             clean session (default: persistent)
  --keepalive S       keepalive seconds (default 30)
  --status TOPIC      retained status topic: "online" on connect, "offline" as the will
  --sub FILTER        subscribe (repeatable); received messages are printed
  --pub TOPIC=TEXT    publish TEXT (repeatable)
  --qos N             QoS for --sub and --pub (default 1)
  --every MS          repeat the --pub messages every MS milliseconds
  --duration S        stop cleanly after S seconds (default: run until Ctrl-C)
  --store FILE        keep QoS 1/2 messages in FILE across restarts
  --ca FILE --cert FILE --key FILE   TLS files (PEM)
  --insecure          accept any TLS certificate (test brokers only)
  --json              one JSON object per event`;

const command: Command = {
  summary: 'run one MQTT session against a broker and print its events',
  usage,
  async run(args) {
    const { values } = parseFlags(args, {
      broker: { type: 'string' },
      demo: { type: 'boolean' },
      'client-id': { type: 'string' },
      clean: { type: 'boolean' },
      keepalive: { type: 'string' },
      status: { type: 'string' },
      sub: { type: 'string', multiple: true },
      pub: { type: 'string', multiple: true },
      qos: { type: 'string' },
      every: { type: 'string' },
      duration: { type: 'string' },
      store: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      insecure: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (!values.broker && !values.demo) throw new UsageError('give --broker URL, or --demo to use the embedded broker');
    if (values.broker && values.demo) throw new UsageError('--broker and --demo exclude each other');
    const qos = intFlag('qos', values.qos, 1, 0, 2) as QoS;
    const keepalive = intFlag('keepalive', values.keepalive, 30, 0, 65535);
    const every = values.every === undefined ? undefined : intFlag('every', values.every, 1000, 1);
    const duration = values.duration === undefined ? undefined : intFlag('duration', values.duration, 0, 1);
    const pubs = (values.pub ?? []).map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UsageError(`--pub needs TOPIC=TEXT, got "${p}"`);
      return { topic: p.slice(0, eq), payload: utf8Encode(p.slice(eq + 1)) };
    });

    let broker: EmbeddedBroker | undefined;
    let url = values.broker;
    if (values.demo) {
      broker = await new EmbeddedBroker({ port: 1883, fallbackToFreePort: true }).start();
      url = broker.url;
      console.error(`embedded broker listening on ${broker.url}`);
    }
    const clientId = values['client-id'] ?? `canopy-${Math.random().toString(16).slice(2, 10)}`;
    const store = values.store ? new FileStore(values.store) : undefined;
    const session = new Session({
      clientId,
      cleanSession: values.clean ?? false,
      keepalive,
      status: values.status ? { topic: values.status } : undefined,
      outbox: new Outbox({ store }),
    });
    const driver = new SessionDriver(session, url as string, {
      tls: values.ca || values.cert || values.key || values.insecure
        ? { ca: values.ca, cert: values.cert, key: values.key, rejectUnauthorized: !values.insecure }
        : undefined,
    });
    driver.on('event', (e) => print(e, values.json ?? false));
    if (values.sub?.length) driver.subscribe(values.sub.map((topic) => ({ topic, qos })));
    const publishAll = () => {
      for (const p of pubs) driver.publish(p.topic, p.payload, { qos });
    };
    publishAll();
    const repeat = every ? setInterval(publishAll, every) : undefined;
    driver.start();

    await new Promise<void>((resolve) => {
      const timer = duration ? setTimeout(resolve, duration * 1000) : undefined;
      const stop = () => {
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
    return 0;
  },
};

function print(e: Record<string, unknown> & { type: string }, json: boolean): void {
  const shown = e.type === 'message' ? { ...e, payload: describePayload(e.payload as Uint8Array) } : e;
  if (json) {
    console.log(redact(JSON.stringify({ time: new Date().toISOString(), ...shown })));
    return;
  }
  const { type, ...rest } = shown;
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
