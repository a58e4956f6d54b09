// Guest half of the host bridge (host/xs/bridge.ts) for device code running in an xsnap worker on
// the host: named channels over the worker's raw byte pipes, and timers driven by the host's clock
// (xsnap has no setTimeout; the host runs real or virtual time).
//
// Wire format, the same in both directions:
//   request: [n: u8][channel: n ASCII bytes][payload: rest]
//   reply:   [status: u8][body: rest]   status 0 = ok, body = reply payload
//                                       status 1 = error, body = UTF-8 message
// Channel "timer" payloads (little-endian):
//   guest → host  set:   [1][id: u32][delay ms: f64][period ms: f64, 0 = one-shot]  reply: empty
//                 clear: [2][id: u32]                                             reply: empty
//                 now:   [4]                                                      reply: [ms: f64]
//   host → guest  fire:  [3][id: u32]                                             reply: empty
//
// xsnap pitfalls this module absorbs: issueCommand needs an exact-size ArrayBuffer (the .buffer of
// a view would send all of it), and handleCommand must return an ArrayBuffer (a Uint8Array
// silently becomes an empty reply).

// Globals used (issueCommand, handleCommand) are declared in device/types/xsnap-globals.d.ts.
import { utf8Decode, utf8Encode } from '../../protocol/utf8';

export type GuestChannelHandler = (payload: Uint8Array) => Uint8Array | void;

const STATUS_OK = 0;
const STATUS_ERROR = 1;
const EMPTY = new Uint8Array(0);
const handlers = new Map<string, GuestChannelHandler>();

/** Serves host calls on `channel`. */
export function registerChannel(channel: string, handler: GuestChannelHandler): void {
  if (handlers.has(channel)) throw new Error(`bridge channel "${channel}" already has a guest handler`);
  handlers.set(channel, handler);
}

/** Calls the host's handler for `channel` and waits for its reply. Throws the host's error. */
export function callHost(channel: string, payload: Uint8Array = EMPTY): Uint8Array {
  const reply = new Uint8Array(issueCommand(encodeRequest(channel, payload).buffer as ArrayBuffer));
  if (reply.length === 0) throw new Error(`host channel "${channel}": empty reply`);
  if (reply[0] !== STATUS_OK) throw new Error(utf8Decode(reply, 1));
  return reply.subarray(1);
}

// Installed on load, so a host call to a channel nobody registered yet still gets a bridge error.
globalThis.handleCommand = dispatch;

function dispatch(request: ArrayBuffer): ArrayBuffer {
  const bytes = new Uint8Array(request);
  let channel = '?';
  let reply: Uint8Array;
  try {
    const n = bytes[0];
    if (!n || bytes.length < 1 + n) throw new Error(`malformed bridge request (${bytes.length} bytes)`);
    channel = String.fromCharCode.apply(null, bytes.subarray(1, 1 + n) as unknown as number[]);
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`no guest handler for bridge channel "${channel}"`);
    reply = withStatus(STATUS_OK, handler(bytes.subarray(1 + n)) ?? EMPTY);
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    reply = withStatus(STATUS_ERROR, utf8Encode(message));
  }
  return reply.buffer as ArrayBuffer;
}

function encodeRequest(channel: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + channel.length + payload.length);
  out[0] = channel.length;
  for (let i = 0; i < channel.length; i++) out[1 + i] = channel.charCodeAt(i);
  out.set(payload, 1 + channel.length);
  return out;
}

function withStatus(status: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = status;
  out.set(body, 1);
  return out;
}

// ---- timers over channel "timer" ----

const TIMER = 'timer';
const OP_SET = 1;
const OP_CLEAR = 2;
const OP_FIRE = 3;
const OP_NOW = 4;

interface Timer {
  callback: (...args: unknown[]) => void;
  args: unknown[];
  repeating: boolean;
}

const timers = new Map<number, Timer>();
let nextTimerId = 1;
let timerChannelReady = false;

function ensureTimerChannel(): void {
  if (timerChannelReady) return;
  timerChannelReady = true;
  registerChannel(TIMER, (payload) => {
    if (payload[0] !== OP_FIRE) throw new Error(`unknown timer op ${payload[0]}`);
    const id = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(1, true);
    const timer = timers.get(id);
    // Unknown: cleared after the host had already queued the fire.
    if (!timer) return;
    if (!timer.repeating) timers.delete(id);
    timer.callback(...timer.args);
  });
}

function arm(callback: (...args: unknown[]) => void, delay: number, period: number, args: unknown[]): number {
  if (typeof callback !== 'function') throw new TypeError('timer callback must be a function');
  ensureTimerChannel();
  const id = nextTimerId++;
  timers.set(id, { callback, args, repeating: period > 0 });
  const msg = new Uint8Array(21);
  const view = new DataView(msg.buffer);
  view.setUint8(0, OP_SET);
  view.setUint32(1, id, true);
  view.setFloat64(5, delay, true);
  view.setFloat64(13, period, true);
  callHost(TIMER, msg);
  return id;
}

function disarm(id: number | undefined): void {
  if (id === undefined || !timers.delete(id)) return;
  const msg = new Uint8Array(5);
  new DataView(msg.buffer).setUint32(1, id, true);
  msg[0] = OP_CLEAR;
  callHost(TIMER, msg);
}

function delayOf(ms: number | undefined): number {
  const d = Number(ms);
  return d > 0 ? d : 0;
}

/** Calls `callback(...args)` once, `ms` milliseconds of host-clock time from now. */
export function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number {
  return arm(callback as (...a: unknown[]) => void, delayOf(ms), 0, args);
}

export function clearTimeout(id: number | undefined): void {
  disarm(id);
}

/** Calls `callback(...args)` every `ms` (at least 1) milliseconds; the host keeps the cadence drift-free. */
export function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number {
  const period = Math.max(1, delayOf(ms));
  return arm(callback as (...a: unknown[]) => void, period, period, args);
}

export function clearInterval(id: number | undefined): void {
  disarm(id);
}

/** Milliseconds on the host's clock (virtual under test), not the wall clock `Date.now()` sees. */
export function now(): number {
  const reply = callHost(TIMER, Uint8Array.of(OP_NOW));
  return new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getFloat64(0, true);
}

/** Timers armed and not yet fired or cleared. */
export function pendingTimers(): number {
  return timers.size;
}
