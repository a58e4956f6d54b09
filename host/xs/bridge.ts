// Named channels between host services (timers, and later socket, sensors, storage) and guest
// code in an XS worker, over xsnap's two raw byte pipes: the guest's blocking issueCommand and
// the host's issueCommand → globalThis.handleCommand. The guest half is device/platform/xs-bridge.ts;
// the framing both halves speak is protocol/xs-bridge.ts.
import { decodeRequest, encodeReply, encodeRequest, STATUS_ERROR, STATUS_OK } from '../../protocol/xs-bridge.ts';
import type { XsWorker } from './worker.ts';

export type ChannelHandler = (payload: Uint8Array) => Uint8Array | void;

/** The guest answered a host call with an error (its handler threw, or it has no such channel). */
export class BridgeError extends Error {
  override name = 'BridgeError';
  constructor(readonly channel: string, readonly guestMessage: string) {
    super(`guest channel "${channel}": ${guestMessage}`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** JSON payloads for channels where a few microseconds do not matter. */
export const json = {
  encode: (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value)),
  decode: <T = unknown>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T,
};

/** Dispatches the guest's calls by channel, and makes host → guest calls. Takes over `worker.onCommand`. */
export class Bridge {
  private readonly handlers = new Map<string, ChannelHandler>();

  constructor(readonly worker: XsWorker) {
    worker.onCommand = (bytes) => this.dispatch(bytes);
  }

  /** Serves guest calls on `channel`. Throwing from `handler` throws an Error at the guest's call site. */
  handle(channel: string, handler: ChannelHandler): void {
    if (this.handlers.has(channel)) throw new Error(`bridge channel "${channel}" already has a host handler`);
    encodeRequest(channel, EMPTY); // validates the name now rather than at first use
    this.handlers.set(channel, handler);
  }

  unhandle(channel: string): void {
    this.handlers.delete(channel);
  }

  /** Calls the guest's handler for `channel`; resolves with its reply payload. */
  async call(channel: string, payload: Uint8Array = EMPTY): Promise<Uint8Array> {
    const reply = await this.worker.issueCommand(encodeRequest(channel, payload));
    const bytes = reply.bytes;
    if (bytes.length === 0) {
      throw new BridgeError(channel, 'empty reply: the guest has no bridge installed (globalThis.handleCommand), or it returned a non-ArrayBuffer');
    }
    if (bytes[0] !== STATUS_OK) throw new BridgeError(channel, decoder.decode(bytes.subarray(1)));
    return bytes.subarray(1);
  }

  private dispatch(bytes: Uint8Array): Uint8Array {
    let channel = '?';
    try {
      const request = decodeRequest(bytes);
      channel = request.channel;
      const handler = this.handlers.get(channel);
      if (!handler) throw new Error(`no host handler for bridge channel "${channel}"`);
      return encodeReply(STATUS_OK, handler(request.payload) ?? EMPTY);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return encodeReply(STATUS_ERROR, encoder.encode(`host channel "${channel}": ${message}`));
    }
  }
}
