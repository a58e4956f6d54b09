// Messages waiting for a connection or for room in the in-flight window. Bounded by count and
// bytes so a device that is offline for a day cannot exhaust its heap; what does not fit is
// dropped by policy and reported, never silently.
import type { OutboundMessage } from './message';

/** Where QoS 1/2 messages live so they survive a reboot. Synchronous: flash and fs writes are. */
export interface OutboxStore {
  load(): OutboundMessage[];
  put(message: OutboundMessage): void;
  delete(id: number): void;
}

export class MemoryStore implements OutboxStore {
  private readonly messages = new Map<number, OutboundMessage>();
  load(): OutboundMessage[] {
    return [...this.messages.values()].sort((a, b) => a.id - b.id);
  }
  put(message: OutboundMessage): void {
    this.messages.set(message.id, { ...message });
  }
  delete(id: number): void {
    this.messages.delete(id);
  }
}

/**
 * 'drop-oldest': when full, the oldest queued message goes.
 * 'latest-per-topic': a new message replaces a queued one on the same topic (telemetry where
 * only the newest reading matters), then drop-oldest if still full.
 */
export type OutboxPolicy = 'drop-oldest' | 'latest-per-topic';

export interface OutboxOptions {
  maxMessages?: number;
  maxBytes?: number;
  policy?: OutboxPolicy;
  store?: OutboxStore;
}

export interface Dropped {
  message: OutboundMessage;
  reason: 'overflow' | 'superseded';
}

export class Outbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly policy: OutboxPolicy;
  private readonly store: OutboxStore | undefined;
  private queue: OutboundMessage[] = [];
  private queuedBytes = 0;
  /** latest-per-topic only: queued messages per topic, so an add scans the queue only when its
   * topic is queued (a burst of 14,000 distinct topics was quadratic and stalled the bridge). */
  private readonly perTopic: Map<string, number> | undefined;
  private nextId = 1;

  constructor(options: OutboxOptions = {}) {
    this.maxMessages = options.maxMessages ?? 1000;
    this.maxBytes = options.maxBytes ?? 256 * 1024;
    this.policy = options.policy ?? 'drop-oldest';
    this.store = options.store;
    this.perTopic = this.policy === 'latest-per-topic' ? new Map() : undefined;
    if (!(this.maxMessages >= 1) || !(this.maxBytes >= 1)) throw new RangeError('outbox bounds must be at least 1');
  }

  /**
   * Reads the store after a reboot. Messages that had a packet id were in flight: they are
   * returned for the session to resend with DUP; the rest are queued again in order.
   */
  restore(): OutboundMessage[] {
    if (!this.store) return [];
    const inflight: OutboundMessage[] = [];
    for (const m of this.store.load()) {
      if (m.id >= this.nextId) this.nextId = m.id + 1;
      if (m.packetId !== undefined) inflight.push(m);
      else {
        this.queue.push(m);
        this.counted(m, 1);
      }
    }
    return inflight;
  }

  /** Assigns the local id, persists QoS > 0, applies the bounds; returns what was dropped. */
  add(message: Omit<OutboundMessage, 'id'>): { message: OutboundMessage; dropped: Dropped[] } {
    const size = message.topic.length + message.payload.length;
    if (size > this.maxBytes) {
      throw new RangeError(`message of ${size} bytes exceeds the outbox limit of ${this.maxBytes} bytes`);
    }
    const m: OutboundMessage = { ...message, id: this.nextId++ };
    const dropped: Dropped[] = [];
    if (this.perTopic?.has(m.topic)) {
      for (let i = this.queue.length - 1; i >= 0; i--) {
        if (this.queue[i].topic === m.topic) dropped.push({ message: this.removeAt(i), reason: 'superseded' });
      }
    }
    while (this.queue.length > 0 && (this.queue.length + 1 > this.maxMessages || this.queuedBytes + sizeOf(m) > this.maxBytes)) {
      dropped.push({ message: this.removeAt(0), reason: 'overflow' });
    }
    this.queue.push(m);
    this.counted(m, 1);
    this.persist(m);
    return { message: m, dropped };
  }

  /** Puts a message back at the head (a transient birth, or one taken but not sent). */
  unshift(m: OutboundMessage): void {
    this.queue.unshift(m);
    this.counted(m, 1);
  }

  peek(): OutboundMessage | undefined {
    return this.queue[0];
  }

  /** Takes the head to go in flight; it stays in the store until `complete`. */
  take(): OutboundMessage | undefined {
    const m = this.queue.shift();
    if (m) this.counted(m, -1);
    return m;
  }

  /** Records a change of packet id or QoS 2 phase so a reboot resumes at the right step. */
  update(m: OutboundMessage): void {
    this.persist(m);
  }

  /** The broker has taken the message. */
  complete(m: OutboundMessage): void {
    if (this.store && m.qos > 0 && !m.transient) this.store.delete(m.id);
  }

  get length(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  private removeAt(i: number): OutboundMessage {
    const [m] = this.queue.splice(i, 1);
    this.counted(m, -1);
    this.complete(m);
    return m;
  }

  /** Keeps the byte total (and, for latest-per-topic, the per-topic count) as m joins or leaves. */
  private counted(m: OutboundMessage, sign: 1 | -1): void {
    this.queuedBytes += sign * sizeOf(m);
    if (!this.perTopic) return;
    const n = (this.perTopic.get(m.topic) ?? 0) + sign;
    if (n > 0) this.perTopic.set(m.topic, n);
    else this.perTopic.delete(m.topic);
  }

  private persist(m: OutboundMessage): void {
    if (this.store && m.qos > 0 && !m.transient) this.store.put(m);
  }
}

function sizeOf(m: OutboundMessage): number {
  return m.topic.length + m.payload.length;
}
