// The XS bridge's wire format, the one definition for both halves: host/xs/bridge.ts (Node, the
// host services) and device/platform/xs-bridge.ts (device code in an xsnap worker). Named
// channels ride on xsnap's two raw byte pipes, the guest's blocking issueCommand and the host's
// issueCommand -> globalThis.handleCommand.
//
// Framing, the same in both directions:
//   request: [n: u8][channel: n ASCII bytes][payload: rest]
//   reply:   [status: u8][body: rest]   status 0 = ok, body = reply payload
//                                       status 1 = error, body = UTF-8 message
// Payloads are opaque bytes; each channel picks its own encoding (binary for hot paths such as
// timers, JSON where convenience wins).
//
// Channel "timer" payloads (little-endian):
//   guest -> host  set:   [1][id: u32][delay ms: f64][period ms: f64, 0 = one-shot]  reply: empty
//                  clear: [2][id: u32]                                             reply: empty
//                  now:   [4]                                                      reply: [ms: f64]
//   host -> guest  fire:  [3][id: u32]                                             reply: empty

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

export function encodeRequest(channel: string, payload: Uint8Array): Uint8Array {
  if (channel.length === 0 || channel.length > 255 || !/^[\x21-\x7e]+$/.test(channel)) {
    throw new Error(`bridge channel name must be 1–255 printable ASCII characters, got ${JSON.stringify(channel)}`);
  }
  const out = new Uint8Array(1 + channel.length + payload.length);
  out[0] = channel.length;
  for (let i = 0; i < channel.length; i++) out[1 + i] = channel.charCodeAt(i);
  out.set(payload, 1 + channel.length);
  return out;
}

export function decodeRequest(bytes: Uint8Array): { channel: string; payload: Uint8Array } {
  const n = bytes[0];
  if (bytes.length === 0 || n === 0 || bytes.length < 1 + n) throw new Error(`malformed bridge request (${bytes.length} bytes)`);
  // apply, not spread: XS builds no argument array for a typed array this way either.
  return { channel: String.fromCharCode.apply(null, bytes.subarray(1, 1 + n) as unknown as number[]), payload: bytes.subarray(1 + n) };
}

export function encodeReply(status: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = status;
  out.set(body, 1);
  return out;
}

export const TIMER_CHANNEL = 'timer';

export type TimerMessage =
  | { op: 'set'; id: number; delayMs: number; periodMs: number }
  | { op: 'clear'; id: number }
  | { op: 'fire'; id: number }
  | { op: 'now' };

const TIMER_OPS = { set: 1, clear: 2, fire: 3, now: 4 } as const;

export function encodeTimerMessage(m: TimerMessage): Uint8Array {
  const out = new Uint8Array(m.op === 'set' ? 21 : m.op === 'now' ? 1 : 5);
  const view = new DataView(out.buffer);
  out[0] = TIMER_OPS[m.op];
  if (m.op !== 'now') view.setUint32(1, m.id, true);
  if (m.op === 'set') {
    view.setFloat64(5, m.delayMs, true);
    view.setFloat64(13, m.periodMs, true);
  }
  return out;
}

export function decodeTimerMessage(bytes: Uint8Array): TimerMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number) => {
    if (bytes.length < n) throw new Error(`timer message of ${bytes.length} bytes, op ${bytes[0]} needs ${n}`);
  };
  switch (bytes[0]) {
    case TIMER_OPS.set:
      need(21);
      return { op: 'set', id: view.getUint32(1, true), delayMs: view.getFloat64(5, true), periodMs: view.getFloat64(13, true) };
    case TIMER_OPS.clear:
      need(5);
      return { op: 'clear', id: view.getUint32(1, true) };
    case TIMER_OPS.fire:
      need(5);
      return { op: 'fire', id: view.getUint32(1, true) };
    case TIMER_OPS.now:
      return { op: 'now' };
    default:
      throw new Error(`unknown timer op ${bytes[0]}`);
  }
}

/** The reply to `now`: the host clock's milliseconds. */
export function encodeTime(ms: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, ms, true);
  return out;
}

export function decodeTime(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0, true);
}
