// The broker side of a Session unit test, spoken through mqtt-packet (an independent codec),
// so the session is checked against someone else's reading of the wire.
import mqttPacket from 'mqtt-packet';
import type { Session, SessionEvent, SessionOutput } from '../../protocol/session/session.ts';

export type WirePacket = mqttPacket.Packet & Record<string, any>;

export class WireBroker {
  readonly session: Session;
  now = 0;
  /** Packets the session sent, parsed by mqtt-packet, not yet taken by the test. */
  sent: WirePacket[] = [];
  events: SessionEvent[] = [];
  opens = 0;
  closes = 0;
  deadline: number | undefined;
  private parser = mqttPacket.parser({ protocolVersion: 4 });

  constructor(session: Session) {
    this.session = session;
    this.parser.on('packet', (p: WirePacket) => this.sent.push(p));
    this.parser.on('error', (e: Error) => {
      throw new Error(`mqtt-packet could not parse what the session sent: ${e.message}`);
    });
  }

  /** Applies the session's output, like a transport would. */
  pump(): SessionOutput {
    const out = this.session.drain();
    for (const b of out.send) this.parser.parse(Buffer.from(b));
    this.events.push(...out.events);
    if (out.open) this.opens++;
    if (out.close) {
      this.closes++;
      this.parser = mqttPacket.parser({ protocolVersion: 4 });
      this.parser.on('packet', (p: WirePacket) => this.sent.push(p));
    }
    this.deadline = out.deadline;
    return out;
  }

  /** Broker → session. */
  send(packet: Record<string, unknown>): void {
    this.session.dataReceived(new Uint8Array(mqttPacket.generate(packet as unknown as mqttPacket.Packet)), this.now);
    this.pump();
  }

  sendRaw(bytes: Uint8Array): void {
    this.session.dataReceived(bytes, this.now);
    this.pump();
  }

  take(): WirePacket[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  takeEvents(): SessionEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  advance(ms: number): void {
    this.now += ms;
    this.session.tick(this.now);
    this.pump();
  }

  /** Runs time forward to the session's deadline. */
  toDeadline(): void {
    if (this.deadline === undefined) throw new Error('session has no deadline');
    this.now = Math.max(this.now, this.deadline);
    this.session.tick(this.now);
    this.pump();
  }

  /** start → open → connectionMade → CONNECT; answers CONNACK. Returns the CONNECT. */
  connect(sessionPresent = false): WirePacket {
    if (this.session.state === 'idle') {
      this.session.start(this.now);
      this.pump();
    }
    while (this.session.state === 'waiting') this.toDeadline();
    this.session.connectionMade(this.now);
    this.pump();
    const connect = this.take().find((p) => p.cmd === 'connect');
    if (!connect) throw new Error('no CONNECT sent');
    this.send({ cmd: 'connack', returnCode: 0, sessionPresent });
    return connect;
  }

  /** The transport died. */
  drop(): void {
    this.session.connectionLost(this.now, 'test drop');
    this.parser = mqttPacket.parser({ protocolVersion: 4 });
    this.parser.on('packet', (p: WirePacket) => this.sent.push(p));
    this.pump();
  }
}
