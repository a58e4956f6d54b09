// The device's edge around a protocol Session: moves bytes between the Session and one platform
// connection, and arms one platform timer for the Session's deadline. All MQTT behaviour stays in
// protocol/session, and the drain-and-apply loop is protocol/session/edge.ts; this only says how
// to reach the platform's connection and timers, and holds connection attempts while the link
// (Wi-Fi) is down.
import type { BrokerAddress } from '../../protocol/broker-url';
import type { Session, SessionEvent } from '../../protocol/session/session';
import { SessionEdge } from '../../protocol/session/edge';
import type { Connection, DevicePlatform, TimerHandle } from '../platform/types';

export class SessionLink {
  private connection: Connection | undefined;
  private linkUp = false;
  /** The session asked for a connection while the link was down. */
  private openPending = false;
  private readonly edge: SessionEdge;

  constructor(
    readonly session: Session,
    private readonly broker: BrokerAddress,
    private readonly platform: DevicePlatform,
    onEvent: (e: SessionEvent) => void,
  ) {
    const clock = platform.clock;
    this.edge = new SessionEdge(session, {
      now: () => clock.now(),
      write: (bytes) => {
        if (this.connection) for (const b of bytes) this.connection.write(b);
      },
      open: () => {
        if (this.linkUp) this.open();
        else this.openPending = true;
      },
      close: () => this.closeConnection(),
      event: onEvent,
      setTimer: (callback, ms) => clock.setTimer(callback, ms),
      clearTimer: (handle) => clock.clearTimer(handle as TimerHandle),
    });
  }

  start(): void {
    this.edge.start();
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
    this.edge.flush();
  }

  /** Drops everything with no DISCONNECT: the session object stays as the power cut left it. */
  halt(): void {
    this.edge.halt();
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
        if (this.connection === c) this.edge.connectionMade();
      },
      onData: (bytes: Uint8Array) => {
        if (this.connection === c) this.edge.dataReceived(bytes);
      },
      onClose: (reason: string) => {
        if (this.connection !== c) return;
        this.connection = undefined;
        this.edge.connectionLost(reason);
      },
    };
    try {
      c = this.platform.network.connect(host, port, secure, handlers);
      this.connection = c;
    } catch (err) {
      // A connect that throws synchronously (no route, no DNS) is a lost connection like any other.
      this.edge.connectionLost(`cannot connect to ${host}:${port}: ${(err as Error).message}`);
    }
  }

  private closeConnection(): void {
    const c = this.connection;
    if (!c) return;
    this.connection = undefined;
    c.close();
  }
}
