// What a Session is configured with and what it hands back; plain data, shared by the Session
// and the edges that drive it.
import type { QoS, Will } from '../mqtt/packets';
import type { BackoffOptions } from './backoff';
import type { SessionEvent } from './events';
import type { Outbox } from './outbox';

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
  /**
   * Ms a connection must stay up before a loss restarts the backoff from its base; default one
   * keepalive interval (60 s with keepalive off). Shorter-lived connections keep backing off.
   */
  stableAfterMs?: number;
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
