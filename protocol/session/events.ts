import type { QoS } from '../mqtt/packets';

/** What a Session reports to the application. Plain data, so it crosses to XS and back as is. */
export type SessionEvent =
  | { type: 'connected'; sessionPresent: boolean }
  | { type: 'connect-refused'; returnCode: number; reason: string }
  | { type: 'connection-lost'; reason: string; reconnectAt: number }
  | { type: 'keepalive-timeout'; silentMs: number }
  | { type: 'protocol-error'; rule: string; message: string }
  | { type: 'message'; topic: string; payload: Uint8Array; qos: QoS; retain: boolean; dup: boolean }
  /** QoS 0: written; QoS 1: PUBACK; QoS 2: PUBCOMP. */
  | { type: 'delivered'; id: number; topic: string; qos: QoS }
  | { type: 'dropped'; id: number; topic: string; reason: 'overflow' | 'superseded' }
  | { type: 'subscribed'; filter: string; requestedQos: QoS; grantedQos: QoS }
  /** SUBACK 0x80: the broker refused this filter. */
  | { type: 'subscribe-failed'; filter: string; requestedQos: QoS }
  | { type: 'unsubscribed'; filters: string[] }
  | { type: 'closed' };
