// What the application wants subscribed, and what the broker has confirmed. Kept apart from
// the wire so a reconnect can replay exactly what the broker may have lost.
import { SUBACK_FAILURE, type QoS, type Subscription } from '../mqtt/packets';
import { validateTopicFilter } from '../mqtt/topic-filter';
import type { SessionEvent } from './events';

export type PendingAck =
  | { kind: 'subscribe'; subscriptions: Subscription[] }
  | { kind: 'unsubscribe'; filters: string[] };

export class Subscriptions {
  /** Filter → requested QoS, as the application last asked. */
  readonly desired = new Map<string, QoS>();
  private readonly unackedSubs = new Set<string>();
  private readonly unackedUnsubs = new Set<string>();
  /** SUBSCRIBE/UNSUBSCRIBE packets awaiting their ack, by packet id. */
  readonly pending = new Map<number, PendingAck>();

  add(subs: Subscription[]): void {
    for (const s of subs) {
      validateTopicFilter(s.topic);
      if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) throw new RangeError(`subscription QoS must be 0, 1 or 2, got ${String(s.qos)}`);
    }
    for (const s of subs) {
      this.desired.set(s.topic, s.qos);
      this.unackedSubs.add(s.topic);
      this.unackedUnsubs.delete(s.topic);
    }
  }

  remove(filters: string[]): void {
    for (const f of filters) validateTopicFilter(f);
    for (const f of filters) {
      this.desired.delete(f);
      this.unackedSubs.delete(f);
      this.unackedUnsubs.add(f);
    }
  }

  /**
   * After CONNACK: acks for packets sent on the old connection will never come. Without a
   * broker session every desired filter must be sent again and nothing needs unsubscribing.
   */
  reconnected(sessionPresent: boolean): void {
    this.pending.clear();
    if (!sessionPresent) {
      for (const f of this.desired.keys()) this.unackedSubs.add(f);
      this.unackedUnsubs.clear();
    }
  }

  /** Filters still to subscribe, with their QoS. */
  toSubscribe(): Subscription[] {
    const out: Subscription[] = [];
    for (const f of this.unackedSubs) {
      const qos = this.desired.get(f);
      if (qos !== undefined && !this.isPending(f)) out.push({ topic: f, qos });
    }
    return out;
  }

  toUnsubscribe(): string[] {
    return [...this.unackedUnsubs].filter((f) => !this.isPending(f));
  }

  /** SUBACK: one event per filter, granted or refused (0x80); nothing for an unknown id. */
  onSuback(packetId: number, granted: number[]): SessionEvent[] {
    const pending = this.pending.get(packetId);
    if (!pending || pending.kind !== 'subscribe') return [];
    this.pending.delete(packetId);
    return pending.subscriptions.map((s, i): SessionEvent => {
      const g = granted[i];
      const ok = g !== SUBACK_FAILURE && g !== undefined;
      this.unackedSubs.delete(s.topic);
      if (!ok) {
        this.desired.delete(s.topic);
        return { type: 'subscribe-failed', filter: s.topic, requestedQos: s.qos };
      }
      return { type: 'subscribed', filter: s.topic, requestedQos: s.qos, grantedQos: g as QoS };
    });
  }

  onUnsuback(packetId: number): SessionEvent[] {
    const pending = this.pending.get(packetId);
    if (!pending || pending.kind !== 'unsubscribe') return [];
    this.pending.delete(packetId);
    for (const f of pending.filters) this.unackedUnsubs.delete(f);
    return [{ type: 'unsubscribed', filters: pending.filters }];
  }

  private isPending(filter: string): boolean {
    for (const p of this.pending.values()) {
      if (p.kind === 'subscribe' ? p.subscriptions.some((s) => s.topic === filter) : p.filters.includes(filter)) return true;
    }
    return false;
  }
}
