// The device's edge around a protocol Session: moves bytes between the Session and one platform
// connection, and arms one platform timer for the Session's deadline. All MQTT behaviour stays in
// protocol/session; this only carries bytes and time, and holds connection attempts while the
// link (Wi-Fi) is down.
import type { BrokerAddress } from '../../protocol/broker-url';
import type { Session, SessionEvent } from '../../protocol/session/session';
import type { Connection, DevicePlatform, TimerHandle } from '../platform/types';

export class SessionLink {
  private connection: Connection | undefined;
  private timer: TimerHandle | undefined;
  private linkUp = false;
  /** The session asked for a connection while the link was down. */
  private openPending = false;
  private stopped = false;

  constructor(
    readonly session: Session,
    private readonly broker: BrokerAddress,
    private readonly platform: DevicePlatform,
    private readonly onEvent: (e: SessionEvent) => void,
  ) {}

  start(): void {
    this.session.start(this.now());
    this.flush();
  }

  /** The link came up or went down. Up releases a held connection attempt. */
  setLink(up: boolean): void {
    this.linkUp = up;
    if (up && this.openPending) {
      this.openPending = false;
      this.open();
    }
  }

  /** Call after any direct call into the session (publish, subscribe, disconnect). */
  flush(): void {
    if (this.stopped) return;
    const out = this.session.drain();
    if (this.connection) for (const b of out.send) this.connection.write(b);
    if (out.close) this.closeConnection();
    for (const e of out.events) this.onEvent(e);
    if (out.open) {
      if (this.linkUp) this.open();
      else this.openPending = true;
    }
    this.schedule(out.deadline);
  }

  /** Drops everything with no DISCONNECT: the session object stays as the power cut left it. */
  halt(): void {
    this.stopped = true;
    this.cancelTimer();
    const c = this.connection;
    this.connection = undefined;
    c?.close();
  }

  now(): number {
    return this.platform.clock.now();
  }

  private open(): void {
    this.closeConnection();
    const { host, port, secure } = this.broker;
    let c: Connection | undefined;
    const handlers = {
      onConnect: () => {
        if (this.connection !== c) return;
        this.session.connectionMade(this.now());
        this.flush();
      },
      onData: (bytes: Uint8Array) => {
        if (this.connection !== c) return;
        this.session.dataReceived(bytes, this.now());
        this.flush();
      },
      onClose: (reason: string) => {
        if (this.connection !== c) return;
        this.connection = undefined;
        this.session.connectionLost(this.now(), reason);
        this.flush();
      },
    };
    try {
      c = this.platform.network.connect(host, port, secure, handlers);
      this.connection = c;
    } catch (err) {
      // A connect that throws synchronously (no route, no DNS) is a lost connection like any other.
      this.session.connectionLost(this.now(), `cannot connect to ${host}:${port}: ${(err as Error).message}`);
      this.flush();
    }
  }

  private closeConnection(): void {
    const c = this.connection;
    if (!c) return;
    this.connection = undefined;
    c.close();
  }

  private schedule(deadline: number | undefined): void {
    this.cancelTimer();
    if (deadline === undefined || this.stopped) return;
    const delay = Math.max(0, deadline - this.now());
    this.timer = this.platform.clock.setTimer(() => {
      this.timer = undefined;
      this.session.tick(this.now());
      this.flush();
    }, Math.ceil(delay));
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.platform.clock.clearTimer(this.timer);
    this.timer = undefined;
  }
}
