// MQTT 3.1.1 client session, sans-I/O (in the manner of python-hyper's h11): the caller feeds it
// connection events, received bytes and the current time; it answers with bytes to write,
// events, whether to open or close the connection, and when to call `tick` next. It owns no
// socket and no timer, so the device (XS), the simulator and the CLI run this same code.
import { encode } from '../mqtt/encode';
import { PacketParser } from '../mqtt/parser';
import { MqttProtocolError, connackReason } from '../mqtt/packets';
import type { ConnectPacket, Packet, PublishPacket, QoS, Subscription, Will } from '../mqtt/packets';
import { validateTopicName } from '../mqtt/topic-filter';
import { utf8Encode } from '../utf8';
import { Keepalive } from './keepalive';
import { Inflight } from './inflight';
import type { SessionOptions, SessionOutput, SessionState } from './options';
import { Outbox } from './outbox';
import { Reconnect } from './reconnect';
import { Subscriptions } from './subscriptions';
import type { SessionEvent } from './events';

export type { SessionEvent } from './events';
export type { SessionOptions, SessionOutput, SessionState, StatusOptions } from './options';

const ONLINE = utf8Encode('online');
const OFFLINE = utf8Encode('offline');

export class Session {
  readonly clientId: string;
  readonly keepaliveMs: number;
  readonly outbox: Outbox;
  readonly subscriptions = new Subscriptions();
  private readonly options: SessionOptions;
  private readonly reconnect: Reconnect;
  private readonly keepalive: Keepalive;
  private readonly will: Will | undefined;

  private st: SessionState = 'idle';
  private parser: PacketParser;
  private readonly inflight: Inflight;
  /** QoS 2 packet ids received and not yet released: a resent PUBLISH is not delivered twice. */
  private readonly inboundQos2 = new Set<number>();

  private out: Uint8Array[] = [];
  private events: SessionEvent[] = [];
  private wantOpen = false;
  private wantClose = false;
  private timer: number | undefined;

  constructor(options: SessionOptions) {
    this.options = options;
    this.clientId = options.clientId;
    this.keepaliveMs = (options.keepalive ?? 60) * 1000;
    this.keepalive = new Keepalive(this.keepaliveMs);
    this.outbox = options.outbox ?? new Outbox();
    this.reconnect = new Reconnect({
      backoff: options.backoff,
      random: options.random,
      stableMs: options.stableAfterMs ?? (this.keepaliveMs || 60_000),
    });
    this.parser = new PacketParser({ maxPacketSize: options.maxPacketSize });
    if (options.status) validateTopicName(options.status.topic);
    this.will = options.will ?? (options.status && {
      topic: options.status.topic,
      payload: options.status.offline ?? OFFLINE,
      qos: options.status.qos ?? 1,
      retain: true,
    });
    // A CONNECT the options make unencodable (an empty client id without a clean session,
    // MQTT-3.1.3-7; a password without a user name) is refused here, where the caller can
    // report it, not later inside a socket callback.
    encode(this.connectPacket());
    this.inflight = new Inflight(this.outbox, options.inflightWindow ?? 16, (id) => this.subscriptions.pending.has(id));
  }

  get state(): SessionState {
    return this.st;
  }

  /** Largest inbound packet accepted; a larger one is a protocol error at its header. */
  get maxPacketSize(): number {
    return this.parser.maxPacketSize;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Begin connecting now. */
  start(now: number): void {
    if (this.st !== 'idle') return;
    this.requestOpen(now);
  }

  connectionMade(now: number): void {
    if (this.st !== 'connecting') return;
    this.st = 'handshake';
    this.parser = new PacketParser({ maxPacketSize: this.options.maxPacketSize });
    this.keepalive.received(now);
    this.write(this.connectPacket(), now);
    this.timer = now + (this.options.connectTimeoutMs ?? 10_000);
  }

  /** The transport closed or failed without being asked to. */
  connectionLost(now: number, reason = 'connection closed'): void {
    if (this.st === 'closing') {
      this.finishClose();
      return;
    }
    if (this.st !== 'connecting' && this.st !== 'handshake' && this.st !== 'connected') return;
    this.lose(now, reason, false);
  }

  dataReceived(bytes: Uint8Array, now: number): void {
    if (this.st !== 'handshake' && this.st !== 'connected' && this.st !== 'closing') return;
    this.keepalive.received(now);
    let packets: Packet[];
    try {
      packets = this.parser.push(bytes);
    } catch (err) {
      if (!(err instanceof MqttProtocolError)) throw err;
      this.events.push({ type: 'protocol-error', rule: err.rule, message: err.message });
      this.lose(now, `protocol error from broker: ${err.message}`, true);
      return;
    }
    for (const p of packets) {
      if (this.st !== 'handshake' && this.st !== 'connected' && this.st !== 'closing') break;
      this.handle(p, now);
    }
  }

  tick(now: number): void {
    if (this.timer === undefined || now < this.timer) return;
    switch (this.st) {
      case 'waiting':
        this.requestOpen(now);
        break;
      case 'connecting':
        this.lose(now, 'transport connect timed out', true);
        break;
      case 'handshake':
        this.lose(now, 'no CONNACK within the connect timeout', true);
        break;
      case 'connected':
        this.keepaliveDue(now);
        break;
      case 'closing':
        this.sendDisconnect(now);
        break;
      default:
        this.timer = undefined;
    }
  }

  /**
   * Queues a message; it goes out now if connected and the window allows, else after the next
   * CONNACK. Returns the local message id used by 'delivered' and 'dropped' events.
   */
  publish(topic: string, payload: Uint8Array, opts: { qos?: QoS; retain?: boolean } = {}, now = 0): number {
    validateTopicName(topic);
    const qos = opts.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`QoS must be 0, 1 or 2, got ${String(qos)}`);
    if (this.st === 'closed') throw new Error('session is closed');
    const { message, dropped } = this.outbox.add({ topic, payload, qos, retain: opts.retain ?? false });
    for (const d of dropped) this.events.push({ type: 'dropped', id: d.message.id, topic: d.message.topic, reason: d.reason });
    this.pump(now);
    return message.id;
  }

  subscribe(subscriptions: Subscription[], now = 0): void {
    this.subscriptions.add(subscriptions);
    if (this.st === 'connected') this.sendSubscriptions(now);
  }

  unsubscribe(filters: string[], now = 0): void {
    this.subscriptions.remove(filters);
    if (this.st === 'connected') this.sendSubscriptions(now);
  }

  /**
   * Clean shutdown: announce "offline" (a clean DISCONNECT suppresses the will), let in-flight
   * messages finish within the drain timeout, then DISCONNECT. Unsent QoS 1/2 messages stay in
   * the outbox store for the next boot.
   */
  disconnect(now: number): void {
    if (this.st === 'closed' || this.st === 'closing') return;
    if (this.st !== 'connected') {
      if (this.st === 'connecting' || this.st === 'handshake') this.wantClose = true;
      this.finishClose();
      return;
    }
    this.st = 'closing';
    this.inflight.dropTransient();
    const status = this.options.status;
    if (status && status.announceOffline !== false) {
      this.sendTransient(status.topic, status.offline ?? OFFLINE, status.qos ?? 1, now);
    }
    this.timer = now + (this.options.drainTimeoutMs ?? 2_000);
    this.pump(now);
    this.maybeFinishClosing(now);
  }

  /** Everything produced since the last drain. */
  drain(): SessionOutput {
    const output: SessionOutput = {
      send: this.out,
      events: this.events,
      open: this.wantOpen,
      close: this.wantClose,
      deadline: this.timer,
    };
    this.out = [];
    this.events = [];
    this.wantOpen = false;
    this.wantClose = false;
    return output;
  }

  // --- inbound -------------------------------------------------------------------------------

  private handle(p: Packet, now: number): void {
    switch (p.type) {
      case 'connack':
        return this.onConnack(p.returnCode, p.sessionPresent, now);
      case 'publish':
        return this.onPublish(p, now);
      case 'puback':
      case 'pubcomp': {
        const m = this.inflight.acked(p.packetId, p.type === 'puback' ? 1 : 2);
        if (!m) return;
        if (!m.transient) this.events.push({ type: 'delivered', id: m.id, topic: m.topic, qos: m.qos });
        this.pump(now);
        this.maybeFinishClosing(now);
        return;
      }
      case 'pubrec':
        this.inflight.received(p.packetId);
        // Also answers an unknown id: the broker holds that id until it gets PUBREL.
        this.write({ type: 'pubrel', packetId: p.packetId }, now);
        return;
      case 'pubrel':
        this.inboundQos2.delete(p.packetId);
        this.write({ type: 'pubcomp', packetId: p.packetId }, now);
        return;
      case 'suback':
        this.events.push(...this.subscriptions.onSuback(p.packetId, p.granted));
        return;
      case 'unsuback':
        this.events.push(...this.subscriptions.onUnsuback(p.packetId));
        return;
      case 'pingresp':
        this.keepalive.settle();
        return;
      default:
        this.events.push({ type: 'protocol-error', rule: 'unexpected-packet', message: `a broker must not send ${p.type.toUpperCase()}` });
        this.lose(now, `broker sent ${p.type.toUpperCase()}`, true);
    }
  }

  private onConnack(code: number, sessionPresent: boolean, now: number): void {
    if (this.st !== 'handshake') {
      this.events.push({ type: 'protocol-error', rule: 'unexpected-connack', message: 'CONNACK after the handshake' });
      this.lose(now, 'second CONNACK', true);
      return;
    }
    if (code !== 0) {
      this.events.push({ type: 'connect-refused', returnCode: code, reason: connackReason(code) });
      this.lose(now, `broker refused the connection: ${connackReason(code)}`, true);
      return;
    }
    this.st = 'connected';
    this.reconnect.connected(now);
    this.keepalive.settle();
    // Without a broker session no PUBREL is coming for the QoS 2 ids we hold, and the broker may
    // reuse them for new messages, which must then be delivered (MQTT-3.1.2-6, MQTT-4.3.3).
    if (!sessionPresent || this.options.cleanSession) this.inboundQos2.clear();
    this.events.push({ type: 'connected', sessionPresent });
    for (const packet of this.inflight.resend()) this.write(packet, now);
    // Subscriptions go before the birth: a broker handles one connection's packets in order, so
    // whoever sees "online" can already reach us (a command sent on seeing it is not lost).
    this.subscriptions.reconnected(sessionPresent);
    this.sendSubscriptions(now);
    const status = this.options.status;
    // After every CONNACK: a session takeover may have published our old will after we were
    // back, so "online" must be said again each time.
    if (status) this.sendTransient(status.topic, status.online ?? ONLINE, status.qos ?? 1, now);
    this.pump(now);
    this.timer = this.keepalive.deadline();
  }

  private onPublish(p: PublishPacket, now: number): void {
    if (p.qos === 2) {
      const id = p.packetId as number;
      if (!this.inboundQos2.has(id)) {
        this.inboundQos2.add(id);
        this.deliver(p);
      }
      this.write({ type: 'pubrec', packetId: id }, now);
      return;
    }
    this.deliver(p);
    if (p.qos === 1) this.write({ type: 'puback', packetId: p.packetId as number }, now);
  }

  private deliver(p: PublishPacket): void {
    this.events.push({ type: 'message', topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup });
  }

  // --- outbound ------------------------------------------------------------------------------

  /** Moves queued messages onto the wire while the window has room. Order is kept. */
  private pump(now: number): void {
    if ((this.st !== 'connected' && this.st !== 'closing') || this.outbox.length === 0) return;
    const { packets, sentQos0 } = this.inflight.fill();
    for (const packet of packets) this.write(packet, now);
    for (const m of sentQos0) this.events.push({ type: 'delivered', id: m.id, topic: m.topic, qos: 0 });
  }

  private sendTransient(topic: string, payload: Uint8Array, qos: QoS, now: number): void {
    this.write(this.inflight.transient(topic, payload, qos), now);
  }

  private sendSubscriptions(now: number): void {
    const subs = this.subscriptions.toSubscribe();
    if (subs.length > 0) {
      const packetId = this.inflight.allocateId();
      this.subscriptions.pending.set(packetId, { kind: 'subscribe', subscriptions: subs });
      this.write({ type: 'subscribe', packetId, subscriptions: subs }, now);
    }
    const filters = this.subscriptions.toUnsubscribe();
    if (filters.length > 0) {
      const packetId = this.inflight.allocateId();
      this.subscriptions.pending.set(packetId, { kind: 'unsubscribe', filters });
      this.write({ type: 'unsubscribe', packetId, topics: filters }, now);
    }
  }

  private connectPacket(): ConnectPacket {
    const o = this.options;
    const cleanSession = o.cleanSession ?? false;
    return { type: 'connect', clientId: this.clientId, cleanSession, keepalive: this.keepaliveMs / 1000, username: o.username, password: o.password, will: this.will };
  }

  private write(packet: Packet, now: number): void {
    this.out.push(encode(packet));
    this.keepalive.sent(now);
  }

  // --- timers and connection lifecycle ----------------------------------------------------

  private keepaliveDue(now: number): void {
    const due = this.keepalive.due(now);
    if (due?.kind === 'dead') {
      this.events.push({ type: 'keepalive-timeout', silentMs: due.silentMs });
      this.lose(now, `no traffic from the broker for ${due.silentMs} ms`, true);
      return;
    }
    if (due?.kind === 'ping') this.write({ type: 'pingreq' }, now);
    this.timer = this.keepalive.deadline();
  }

  private requestOpen(now: number): void {
    this.st = 'connecting';
    this.wantOpen = true;
    this.timer = now + (this.options.connectTimeoutMs ?? 10_000);
  }

  /** Connection gone (or to be closed by us); schedule the next attempt. */
  private lose(now: number, reason: string, closeIt: boolean): void {
    if (closeIt) this.wantClose = true;
    this.keepalive.settle();
    this.subscriptions.pending.clear();
    const delay = this.reconnect.delay(now);
    this.st = 'waiting';
    this.timer = now + delay;
    this.events.push({ type: 'connection-lost', reason, reconnectAt: this.timer });
  }

  private maybeFinishClosing(now: number): void {
    if (this.st === 'closing' && this.inflight.size === 0 && this.outbox.length === 0) this.sendDisconnect(now);
  }

  private sendDisconnect(now: number): void {
    this.write({ type: 'disconnect' }, now);
    this.wantClose = true;
    this.finishClose();
  }

  private finishClose(): void {
    this.st = 'closed';
    this.timer = undefined;
    this.events.push({ type: 'closed' });
  }
}
