// The client's half of QoS 1/2 delivery (MQTT-4.3, 4.4, 4.6): messages taken from the outbox and
// not yet acknowledged, by packet id and in send order, which a reconnect must keep. It returns
// the packets to write; the Session writes them and reports the events.
import type { Packet, PublishPacket, QoS } from '../mqtt/packets';
import type { OutboundMessage } from './message';
import type { Outbox } from './outbox';
import { PacketIds } from './packet-ids';

export class Inflight {
  readonly window: number;
  /** A Map keeps send order, which resends must preserve (MQTT-4.6). */
  private readonly byId = new Map<number, OutboundMessage>();
  private readonly ids = new PacketIds();

  /** `heldElsewhere`: ids the Session holds outside this table (pending SUBSCRIBE/UNSUBSCRIBE). */
  constructor(
    private readonly outbox: Outbox,
    window: number,
    private readonly heldElsewhere: (id: number) => boolean,
  ) {
    this.window = window;
    if (!(window >= 1 && window <= 65535)) throw new RangeError(`inflightWindow must be 1..65535, got ${window}`);
    // Messages that were in flight when the device lost power go out again first, with DUP.
    for (const m of outbox.restore()) {
      this.byId.set(m.packetId as number, m);
      if (m.packetId !== undefined) this.ids.restored(m.packetId);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** A packet id held by nothing in flight nor by `heldElsewhere`. */
  allocateId(): number {
    return this.ids.allocate((id) => this.byId.has(id) || this.heldElsewhere(id));
  }

  /** PUBACK (`qos` 1) or PUBCOMP (2): the message now done, or undefined for an id not ours. */
  acked(packetId: number, qos: QoS): OutboundMessage | undefined {
    const m = this.byId.get(packetId);
    if (!m || m.qos !== qos) return undefined;
    this.byId.delete(packetId);
    this.outbox.complete(m);
    return m;
  }

  /** PUBREC: the broker owns the message; from now on a reconnect resends PUBREL instead. */
  received(packetId: number): void {
    const m = this.byId.get(packetId);
    if (m && m.qos === 2 && m.phase !== 'pubrel') {
      m.phase = 'pubrel';
      this.outbox.update(m);
    }
  }

  /**
   * After CONNACK: every unacknowledged PUBLISH again with DUP and every PUBREL, in order
   * (MQTT-4.4.0-1). PUBREL is resent even when CONNACK says there is no session: after PUBREC
   * the broker owns the message, and some brokers (aedes) report no session for a client that
   * merely has no subscriptions while still holding its QoS 2 state; publishing again there
   * would deliver twice. A stale birth is dropped, not resent.
   */
  resend(): Packet[] {
    const out: Packet[] = [];
    for (const [id, m] of [...this.byId]) {
      if (m.transient) {
        this.byId.delete(id);
        continue;
      }
      if (m.phase === 'pubrel') out.push({ type: 'pubrel', packetId: id });
      else out.push({ type: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: true, packetId: id });
    }
    return out;
  }

  /** Moves queued messages onto the wire while the window has room, in order; QoS 0 ones are done once written. */
  fill(): { packets: PublishPacket[]; sentQos0: OutboundMessage[] } {
    const packets: PublishPacket[] = [];
    const sentQos0: OutboundMessage[] = [];
    for (let m = this.outbox.peek(); m; m = this.outbox.peek()) {
      if (m.qos > 0 && this.byId.size >= this.window) break;
      this.outbox.take();
      if (m.qos === 0) {
        packets.push({ type: 'publish', topic: m.topic, payload: m.payload, qos: 0, retain: m.retain, dup: false });
        sentQos0.push(m);
        continue;
      }
      m.packetId = this.allocateId();
      m.phase = 'publish';
      this.outbox.update(m);
      this.byId.set(m.packetId, m);
      packets.push({ type: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: false, packetId: m.packetId });
    }
    return { packets, sentQos0 };
  }

  /** Birth and "offline" announcements: retained, ahead of the window, never stored. */
  transient(topic: string, payload: Uint8Array, qos: QoS): PublishPacket {
    if (qos === 0) return { type: 'publish', topic, payload, qos: 0, retain: true, dup: false };
    const packetId = this.allocateId();
    this.byId.set(packetId, { id: 0, topic, payload, qos, retain: true, packetId, phase: 'publish', transient: true });
    return { type: 'publish', topic, payload, qos, retain: true, dup: false, packetId };
  }

  /** An unacknowledged birth is superseded by the "offline" that follows; waiting for it gains nothing. */
  dropTransient(): void {
    for (const [id, m] of this.byId) if (m.transient) this.byId.delete(id);
  }
}
