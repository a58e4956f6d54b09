// Guest half of the host bridge (host/xs/bridge.ts) for device code running in an xsnap worker on
// the host: named channels over the worker's raw byte pipes, and timers driven by the host's clock
// (xsnap has no setTimeout; the host runs real or virtual time).
//
// The framing and the timer payloads are protocol/xs-bridge.ts, shared with the host half.
//
// xsnap pitfalls this module absorbs: issueCommand needs an exact-size ArrayBuffer (the .buffer of
// a view would send all of it), and handleCommand must return an ArrayBuffer (a Uint8Array
// silently becomes an empty reply).

// Globals used (issueCommand, handleCommand) are declared in device/types/xsnap-globals.d.ts.
import { utf8Decode, utf8Encode } from '../../protocol/utf8';
import { decodeRequest, decodeTime, decodeTimerMessage, encodeReply, encodeRequest, encodeTimerMessage, STATUS_ERROR, STATUS_OK, TIMER_CHANNEL } from '../../protocol/xs-bridge';

export type GuestChannelHandler = (payload: Uint8Array) => Uint8Array | void;

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
    const request = decodeRequest(bytes);
    channel = request.channel;
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`no guest handler for bridge channel "${channel}"`);
    reply = encodeReply(STATUS_OK, handler(request.payload) ?? EMPTY);
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    reply = encodeReply(STATUS_ERROR, utf8Encode(message));
  }
  return reply.buffer as ArrayBuffer;
}

// ---- timers over channel "timer" ----

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
  registerChannel(TIMER_CHANNEL, (payload) => {
    const m = decodeTimerMessage(payload);
    if (m.op !== 'fire') throw new Error(`timer op ${m.op} goes guest -> host only`);
    const id = m.id;
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
  callHost(TIMER_CHANNEL, encodeTimerMessage({ op: 'set', id, delayMs: delay, periodMs: period }));
  return id;
}

function disarm(id: number | undefined): void {
  if (id === undefined || !timers.delete(id)) return;
  callHost(TIMER_CHANNEL, encodeTimerMessage({ op: 'clear', id }));
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

/**
 * The host protocol's own timer: `callback` after `delayMs`, then every `periodMs` (0 = once).
 * Moddable's `timer` stand-in (device/platform/xsnap/sdk/timer.ts) needs a first delay that differs
 * from the period, which setTimeout and setInterval cannot say. Stop it with clearTimeout.
 */
export function startTimer(callback: () => void, delayMs: number, periodMs: number): number {
  const period = delayOf(periodMs);
  return arm(callback, delayOf(delayMs), period > 0 ? Math.max(1, period) : 0, []);
}

/** Milliseconds on the host's clock (virtual under test), not the wall clock `Date.now()` sees. */
export function now(): number {
  return decodeTime(callHost(TIMER_CHANNEL, encodeTimerMessage({ op: 'now' })));
}

/** Timers armed and not yet fired or cleared. */
export function pendingTimers(): number {
  return timers.size;
}
