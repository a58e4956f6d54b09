// DevicePlatform for the simulator's XS engine (@agoric/xsnap on the host): every service is a
// bridge channel served by sim/xs-device.ts. The host owns sockets, sensor models, storage
// and time, so the same DeviceApp runs here as on an ESP32. The clock and the settings are not
// here: device/xsnap-main.ts gives the app the firmware's own modules for them
// (device/platform/moddable/clock and storage), which run over the SDK stand-ins in
// device/platform/xsnap/sdk/ ("timer", "time", "preference") on the "timer" and "storage" channels.
//
// Channels (guest → host unless noted; integers little-endian):
//   "net"     [1][id u32][port u16][secure u8][host UTF-8]  connect
//             [2][id u32][bytes]                           write
//             [3][id u32]                                  close
//   host → guest  [4][id u32] connected · [5][id u32][bytes] data · [6][id u32][reason UTF-8] closed
//   "dev"     JSON {op: 'config' | 'unixTime' | 'log' | 'restart' | 'stopped' | 'link', ...} → JSON
//   "sensors" [1] climate → JSON · [2] light → f64 (NaN = none) · [3] motion → u8
//   host → guest  [4][active u8] motion edge
//   "storage" JSON {op: 'get' | 'set' | 'delete' | 'keys', domain, key?, value?} → JSON
//             (device/platform/xsnap/sdk/preference.ts)
//   "outbox"  [1] load → record log · [2][record] append   (protocol/session/record.ts records)
import type { SensorNodeSensors } from '../sensor-node/app';
import { replayLog, encodeRecord } from '../../protocol/session/record';
import type { OutboxStore } from '../../protocol/session/outbox';
import type { OutboundMessage } from '../../protocol/session/message';
import { utf8Decode, utf8Encode } from '../../protocol/utf8';
import { callHost, registerChannel } from './xs-bridge';
import { seededRandom, simulatedHealth } from './random';
import { bootReason } from '../app/reset-reason';
import type { ConnectionHandlers, DevicePlatform, DeviceStorage, LinkState, LogLevel } from './types';
import { NetOp } from './xsnap-net';


function callJson<T>(channel: string, request: unknown): T {
  const reply = callHost(channel, utf8Encode(JSON.stringify(request)));
  return (reply.length === 0 ? undefined : JSON.parse(utf8Decode(reply))) as T;
}

function u32(bytes: Uint8Array, o: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(o, true);
}

function withId(op: number, id: number, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + tail.length);
  out[0] = op;
  new DataView(out.buffer).setUint32(1, id, true);
  out.set(tail, 5);
  return out;
}

class BridgeOutboxStore implements OutboxStore {
  load(): OutboundMessage[] {
    return replayLog(callHost('outbox', Uint8Array.of(1))).messages;
  }
  put(message: OutboundMessage): void {
    this.append(encodeRecord({ op: 'put', message }));
  }
  delete(id: number): void {
    this.append(encodeRecord({ op: 'delete', id }));
  }
  private append(record: Uint8Array): void {
    const out = new Uint8Array(1 + record.length);
    out[0] = 2;
    out.set(record, 1);
    callHost('outbox', out);
  }
}

/**
 * The simulated device's wall time in seconds: the host's clock (virtual under test). On the board
 * it is Date.now() once SNTP has run Time.set; the engine's Date.now() does not follow the host.
 */
export function hostUnixTime(): number {
  return callJson<number>('dev', { op: 'unixTime' });
}

/**
 * The platform's bridge services but the clock and the storage (see the top of this file);
 * `storage` is the one the app gets, where the boot reason is kept. `sensors` are the
 * sensor-node's, served by the host's models over the "sensors" channel.
 */
export function createXsnapPlatform(seed: number, storage: DeviceStorage): Omit<DevicePlatform, 'clock' | 'storage'> & { sensors: SensorNodeSensors } {
  const connections = new Map<number, ConnectionHandlers>();
  let nextConnection = 1;
  const motionListeners: ((active: boolean) => void)[] = [];

  registerChannel('net', (payload) => {
    const id = u32(payload, 1);
    const handlers = connections.get(id);
    if (!handlers) return; // closed by us while the host's event was on its way
    switch (payload[0]) {
      case NetOp.connected:
        handlers.onConnect();
        break;
      case NetOp.data:
        // A copy: the payload view dies with this request.
        handlers.onData(payload.slice(5));
        break;
      case NetOp.closed:
        connections.delete(id);
        handlers.onClose(utf8Decode(payload, 5));
        break;
      default:
        throw new Error(`unknown net op ${payload[0]}`);
    }
  });
  registerChannel('sensors', (payload) => {
    if (payload[0] !== 4) throw new Error(`unknown sensors op ${payload[0]}`);
    for (const l of motionListeners) l(payload[1] === 1);
  });

  // A simulated device goes down only by a restart it asked for or by a power cut.
  const boot = bootReason(storage, 'power-on');
  const measure = simulatedHealth(seed);

  return {
    network: {
      start(onState: (state: LinkState, detail: string) => void) {
        // The host's network is up as long as the host is; a partition shows as lost connections.
        onState('up', 'host network');
      },
      connect(host, port, secure, handlers) {
        const id = nextConnection++;
        const head = new Uint8Array(3);
        head[0] = port & 0xff;
        head[1] = port >> 8;
        head[2] = secure ? 1 : 0;
        const name = utf8Encode(host);
        const tail = new Uint8Array(3 + name.length);
        tail.set(head, 0);
        tail.set(name, 3);
        connections.set(id, handlers);
        callHost('net', withId(NetOp.connect, id, tail));
        return {
          write: (bytes: Uint8Array) => {
            if (connections.has(id)) callHost('net', withId(NetOp.write, id, bytes));
          },
          close: () => {
            if (connections.delete(id)) callHost('net', withId(NetOp.close, id, new Uint8Array(0)));
          },
        };
      },
      stop() {},
    },
    sensors: {
      climate: () => JSON.parse(utf8Decode(callHost('sensors', Uint8Array.of(1)))),
      light: () => {
        const r = callHost('sensors', Uint8Array.of(2));
        const v = new DataView(r.buffer, r.byteOffset, r.byteLength).getFloat64(0, true);
        return Number.isNaN(v) ? null : v;
      },
      motion: () => callHost('sensors', Uint8Array.of(3))[0] === 1,
      onMotion: (callback: (active: boolean) => void) => {
        motionListeners.push(callback);
      },
      close() {
        motionListeners.length = 0;
      },
    },
    outboxStore: new BridgeOutboxStore(),
    random: seededRandom(seed),
    log: (level: LogLevel, message: string) => callJson('dev', { op: 'log', level, message }),
    restart: (reason: string) => {
      boot.markRestart();
      callJson('dev', { op: 'restart', reason });
    },
    health: () => ({ resetReason: boot.reason, ...measure() }),
  };
}
