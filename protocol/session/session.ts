// MQTT 3.1.1 client session, sans-I/O (in the manner of python-hyper's h11): the caller feeds it
// connection events, received bytes and the current time; it answers with bytes to write,
// events, whether to open or close the connection, and when to call `tick` next. It owns no
// socket and no timer, so the device (XS), the simulator and the CLI run this same code.
import { encode } from '../mqtt/encode';
import { PacketParser } from '../mqtt/parser';
import { MqttProtocolError, SUBACK_FAILURE, connackReason } from '../mqtt/packets';
import type { Packet, PublishPacket, QoS, Subscription, Will } from '../mqtt/packets';
import { validateTopicName } from '../mqtt/topic-filter';
import { utf8Encode } from '../utf8';
import { Backoff, type BackoffOptions } from './backoff';
import type { OutboundMessage } from './message';
import { Outbox } from './outbox';
import { Subscriptions } from './subscriptions';
import type { SessionEvent } from './events';

export type { SessionEvent } from './events';

export interface StatusOptions {
  /** Retained status topic: "online" after every CONNACK, "offline" as the will. */
  topic: string;
  online?: Uint8Array;
  offline?: Uint8Array;
  qos?: QoS;
  /** Publish "offline" ourselves before a clean DISCONNECT (which suppresses the will). */
  announceOffline?: boolean;
}

export interface SessionOptions {
  clientId: string;
  /** Keep the broker's session across connections (needed for exactly-once across drops). */
  cleanSession?: boolean;
  /** Seconds; 0 disables keepalive. */
  keepalive?: number;
  username?: string;
  password?: Uint8Array;
  /** Explicit will; defaults to the status topic's "offline" when `status` is given. */
  will?: Will;
  status?: StatusOptions;
  /** Most QoS 1/2 publishes awaiting an ack at once. */
  inflightWindow?: number;
  outbox?: Outbox;
  backoff?: BackoffOptions;
  /** [0, 1) source for backoff jitter; inject a seeded one for reproducible runs. */
  random?: () => number;
  /** Time allowed for the transport to connect, and then for CONNACK. */
  connectTimeoutMs?: number;
  /** How long `disconnect` waits for in-flight messages before sending DISCONNECT. */
  drainTimeoutMs?: number;
  maxPacketSize?: number;
}

export type SessionState = 'idle' | 'waiting' | 'connecting' | 'handshake' | 'connected' | 'closing' | 'closed';

export interface SessionOutput {
  /** Bytes to write, in order. */
  send: Uint8Array[];
  events: SessionEvent[];
  /** Open a transport connection, then call `connectionMade` (or `connectionLost`). */
  open: boolean;
  /** Close the current connection; do not report its loss. */
  close: boolean;
  /** Call `tick` at this time (ms, same clock as `now`), if set. */
  deadline: number | undefined;
}

const ONLINE = utf8Encode('online');
const OFFLINE = utf8Encode('offline');

export class Session {
  readonly clientId: string;
  readonly keepaliveMs: number;
  readonly outbox: Outbox;
  readonly subscriptions = new Subscriptions();
  private readonly options: SessionOptions;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly window: number;
  private readonly will: Will | undefined;

  private st: SessionState = 'idle';
  private parser: PacketParser;
  /** In flight by packet id; a Map keeps send order, which resends must preserve (MQTT-4.6). */
  private readonly inflight = new Map<number, OutboundMessage>();
  /** QoS 2 packet ids received and not yet released: a resent PUBLISH is not delivered twice. */
  private readonly inboundQos2 = new Set<number>();
  private nextPacketId = 1;

  private out: Uint8Array[] = [];
  private events: SessionEvent[] = [];
  private wantOpen = false;
  private wantClose = false;
  private timer: number | undefined;
  private lastSent = 0;
  private lastReceived = 0;
  private pingOutstanding = false;

  constructor(options: SessionOptions) {
    this.options = options;
    this.clientId = options.clientId;
    this.keepaliveMs = (options.keepalive ?? 60) * 1000;
    this.outbox = options.outbox ?? new Outbox();
    this.backoff = new Backoff(options.backoff);
    this.random = options.random ?? Math.random;
    this.window = options.inflightWindow ?? 16;
    this.parser = new PacketParser({ maxPacketSize: options.maxPacketSize });
    if (!(this.window >= 1 && this.window <= 65535)) throw new RangeError(`inflightWindow must be 1..65535, got ${this.window}`);
    if (options.status) validateTopicName(options.status.topic);
    this.will = options.will ?? (options.status && {
      topic: options.status.topic,
      payload: options.status.offline ?? OFFLINE,
      qos: options.status.qos ?? 1,
      retain: true,
    });
    // Messages that were in flight when the device lost power go out again first, with DUP.
    for (const m of this.outbox.restore()) {
      this.inflight.set(m.packetId as number, m);
      if (m.packetId !== undefined && m.packetId >= this.nextPacketId) this.nextPacketId = (m.packetId % 65535) + 1;
    }
  }

  get state(): SessionState {
    return this.st;
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
    this.lastReceived = now;
    this.write(
      {
        type: 'connect',
        clientId: this.clientId,
        cleanSession: this.options.cleanSession ?? false,
        keepalive: this.keepaliveMs / 1000,
        username: this.options.username,
        password: this.options.password,
        will: this.will,
      },
      now,
    );
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
    this.lastReceived = now;
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
        this.keepalive(now);
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
    // An unacknowledged birth is superseded by the "offline" below; waiting for it gains nothing.
    for (const [id, m] of this.inflight) if (m.transient) this.inflight.delete(id);
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
        const m = this.inflight.get(p.packetId);
        if (!m || m.qos !== (p.type === 'puback' ? 1 : 2)) return;
        this.inflight.delete(p.packetId);
        this.outbox.complete(m);
        if (!m.transient) this.events.push({ type: 'delivered', id: m.id, topic: m.topic, qos: m.qos });
        this.pump(now);
        this.maybeFinishClosing(now);
        return;
      }
      case 'pubrec': {
        const m = this.inflight.get(p.packetId);
        if (m && m.qos === 2 && m.phase !== 'pubrel') {
          m.phase = 'pubrel';
          this.outbox.update(m);
        }
        // Also answers an unknown id: the broker holds that id until it gets PUBREL.
        this.write({ type: 'pubrel', packetId: p.packetId }, now);
        return;
      }
      case 'pubrel':
        this.inboundQos2.delete(p.packetId);
        this.write({ type: 'pubcomp', packetId: p.packetId }, now);
        return;
      case 'suback':
        return this.onSuback(p.packetId, p.granted);
      case 'unsuback': {
        const pending = this.subscriptions.pending.get(p.packetId);
        if (!pending || pending.kind !== 'unsubscribe') return;
        this.subscriptions.pending.delete(p.packetId);
        for (const f of pending.filters) this.subscriptions.unsubAcked(f);
        this.events.push({ type: 'unsubscribed', filters: pending.filters });
        return;
      }
      case 'pingresp':
        this.pingOutstanding = false;
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
    this.backoff.reset();
    this.pingOutstanding = false;
    this.events.push({ type: 'connected', sessionPresent });
    this.resendInflight(now);
    // Subscriptions go before the birth: a broker handles one connection's packets in order, so
    // whoever sees "online" can already reach us (a command sent on seeing it is not lost).
    this.subscriptions.reconnected(sessionPresent);
    this.sendSubscriptions(now);
    const status = this.options.status;
    // After every CONNACK: a session takeover may have published our old will after we were
    // back, so "online" must be said again each time.
    if (status) this.sendTransient(status.topic, status.online ?? ONLINE, status.qos ?? 1, now);
    this.pump(now);
    this.armKeepalive();
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

  private onSuback(packetId: number, granted: number[]): void {
    const pending = this.subscriptions.pending.get(packetId);
    if (!pending || pending.kind !== 'subscribe') return;
    this.subscriptions.pending.delete(packetId);
    pending.subscriptions.forEach((s, i) => {
      const g = granted[i];
      if (g === SUBACK_FAILURE || g === undefined) {
        this.subscriptions.acked(s.topic, false);
        this.events.push({ type: 'subscribe-failed', filter: s.topic, requestedQos: s.qos });
      } else {
        this.subscriptions.acked(s.topic, true);
        this.events.push({ type: 'subscribed', filter: s.topic, requestedQos: s.qos, grantedQos: g as QoS });
      }
    });
  }

  // --- outbound ------------------------------------------------------------------------------

  /**
   * A reconnect resends every unacknowledged PUBLISH with DUP and every PUBREL, in order
   * (MQTT-4.4.0-1). PUBREL is resent even when CONNACK says there is no session: after PUBREC
   * the broker owns the message, and some brokers (aedes) report no session for a client that
   * merely has no subscriptions while still holding its QoS 2 state; publishing again there
   * would deliver twice.
   */
  private resendInflight(now: number): void {
    for (const [id, m] of [...this.inflight]) {
      if (m.transient) {
        this.inflight.delete(id);
        continue;
      }
      if (m.phase === 'pubrel') this.write({ type: 'pubrel', packetId: id }, now);
      else this.write({ type: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: true, packetId: id }, now);
    }
  }

  /** Moves queued messages onto the wire while the window has room. Order is kept. */
  private pump(now: number): void {
    if (this.st !== 'connected' && this.st !== 'closing') return;
    for (let m = this.outbox.peek(); m; m = this.outbox.peek()) {
      if (m.qos > 0 && this.inflight.size >= this.window) return;
      this.outbox.take();
      if (m.qos === 0) {
        this.write({ type: 'publish', topic: m.topic, payload: m.payload, qos: 0, retain: m.retain, dup: false }, now);
        this.events.push({ type: 'delivered', id: m.id, topic: m.topic, qos: 0 });
        continue;
      }
      m.packetId = this.allocatePacketId();
      m.phase = 'publish';
      this.outbox.update(m);
      this.inflight.set(m.packetId, m);
      this.write({ type: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: false, packetId: m.packetId }, now);
    }
  }

  /** Birth and "offline" announcements: ahead of the window, never stored. */
  private sendTransient(topic: string, payload: Uint8Array, qos: QoS, now: number): void {
    if (qos === 0) {
      this.write({ type: 'publish', topic, payload, qos: 0, retain: true, dup: false }, now);
      return;
    }
    const packetId = this.allocatePacketId();
    const m: OutboundMessage = { id: 0, topic, payload, qos, retain: true, packetId, phase: 'publish', transient: true };
    this.inflight.set(packetId, m);
    this.write({ type: 'publish', topic, payload, qos, retain: true, dup: false, packetId }, now);
  }

  private sendSubscriptions(now: number): void {
    const subs = this.subscriptions.toSubscribe();
    if (subs.length > 0) {
      const packetId = this.allocatePacketId();
      this.subscriptions.pending.set(packetId, { kind: 'subscribe', subscriptions: subs });
      this.write({ type: 'subscribe', packetId, subscriptions: subs }, now);
    }
    const filters = this.subscriptions.toUnsubscribe();
    if (filters.length > 0) {
      const packetId = this.allocatePacketId();
      this.subscriptions.pending.set(packetId, { kind: 'unsubscribe', filters });
      this.write({ type: 'unsubscribe', packetId, topics: filters }, now);
    }
  }

  /** Next id in 1..65535 not held by an in-flight message or a pending (un)subscribe. */
  private allocatePacketId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id) && !this.subscriptions.pending.has(id)) return id;
    }
    throw new Error('all 65535 packet ids are in use');
  }

  private write(packet: Packet, now: number): void {
    this.out.push(encode(packet));
    this.lastSent = now;
  }

  // --- timers and connection lifecycle ----------------------------------------------------

  /**
   * PINGREQ when we have sent nothing for a keepalive interval (MQTT-3.1.2-23) or heard nothing
   * for one; the connection is dead after 1.5 intervals of silence from the broker.
   */
  private keepalive(now: number): void {
    if (this.keepaliveMs === 0) {
      this.timer = undefined;
      return;
    }
    if (now - this.lastReceived >= this.keepaliveMs * 1.5) {
      this.events.push({ type: 'keepalive-timeout', silentMs: now - this.lastReceived });
      this.lose(now, `no traffic from the broker for ${now - this.lastReceived} ms`, true);
      return;
    }
    if (!this.pingOutstanding && (now - this.lastSent >= this.keepaliveMs || now - this.lastReceived >= this.keepaliveMs)) {
      this.write({ type: 'pingreq' }, now);
      this.pingOutstanding = true;
    }
    this.armKeepalive();
  }

  private armKeepalive(): void {
    if (this.keepaliveMs === 0) {
      this.timer = undefined;
      return;
    }
    const dead = this.lastReceived + this.keepaliveMs * 1.5;
    const ping = this.pingOutstanding ? Infinity : Math.min(this.lastSent, this.lastReceived) + this.keepaliveMs;
    this.timer = Math.min(dead, ping);
  }

  private requestOpen(now: number): void {
    this.st = 'connecting';
    this.wantOpen = true;
    this.timer = now + (this.options.connectTimeoutMs ?? 10_000);
  }

  /** Connection gone (or to be closed by us); schedule the next attempt. */
  private lose(now: number, reason: string, closeIt: boolean): void {
    if (closeIt) this.wantClose = true;
    this.pingOutstanding = false;
    this.subscriptions.pending.clear();
    const delay = this.backoff.next(this.random);
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
