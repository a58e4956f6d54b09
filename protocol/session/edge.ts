// The part of every Session edge that is the same on the device and on Node: after each input
// (start, a call, connection events, bytes, the timer) drain the Session and carry out what it
// asked for, in its order, then arm one timer for its next deadline. The edges
// (device/app/session-link.ts, host/transport.ts) only say how to write, open and close a
// connection and how to set a timer.
import type { Session } from './session';
import type { SessionEvent } from './events';

export interface EdgeIo {
  now(): number;
  /** Write these bytes, in order, on the open connection; with none open, drop them (the session resends what it must). */
  write(bytes: readonly Uint8Array[]): void;
  /** Open a connection; report it through `connectionMade` or `connectionLost`. */
  open(): void;
  /** Close the current connection without reporting its loss. */
  close(): void;
  event(e: SessionEvent): void;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export class SessionEdge {
  private timer: unknown;
  private armed = false;
  /** When the armed timer is due, on the io clock. */
  private armedFor = 0;
  private stopped = false;

  constructor(
    readonly session: Session,
    private readonly io: EdgeIo,
  ) {}

  start(): void {
    this.session.start(this.io.now());
    this.flush();
  }

  connectionMade(): void {
    this.session.connectionMade(this.io.now());
    this.flush();
  }

  dataReceived(bytes: Uint8Array): void {
    this.session.dataReceived(bytes, this.io.now());
    this.flush();
  }

  connectionLost(reason: string): void {
    this.session.connectionLost(this.io.now(), reason);
    this.flush();
  }

  /** Call after any direct call into the session (publish, subscribe, disconnect). */
  flush(): void {
    if (this.stopped) return;
    const out = this.session.drain();
    if (out.send.length > 0) this.io.write(out.send);
    if (out.close) this.io.close();
    for (const e of out.events) this.io.event(e);
    if (out.open) this.io.open();
    this.schedule(out.deadline);
    if (this.session.state === 'closed') this.cancelTimer();
  }

  /** No more output and no more ticks: the session object stays as it is (a power cut, a kill). */
  halt(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  /**
   * Keeps an armed timer that is due no later than the new deadline: the session's deadline moves
   * on every packet sent (keepalive), and re-arming a platform timer for each one was a large part
   * of a simulated device's CPU. A timer that fires early finds nothing due in `tick`, and the
   * flush after it arms the real deadline.
   */
  private schedule(deadline: number | undefined): void {
    if (deadline === undefined || this.stopped) {
      this.cancelTimer();
      return;
    }
    if (this.armed && this.armedFor <= deadline) return;
    this.cancelTimer();
    const now = this.io.now();
    const delay = Math.ceil(Math.max(0, deadline - now));
    this.armed = true;
    this.armedFor = now + delay;
    this.timer = this.io.setTimer(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.armed = false;
    this.session.tick(this.io.now());
    this.flush();
  };

  private cancelTimer(): void {
    if (this.armed) this.io.clearTimer(this.timer);
    this.armed = false;
    this.timer = undefined;
  }
}
