import type { QoS } from '../mqtt/packets';

/**
 * An application message owned by the client until the broker has taken it: queued, then in
 * flight. `id` is local and monotonic (the store key and the id in 'delivered' events); the MQTT
 * packet id is assigned only when the message goes in flight.
 */
export interface OutboundMessage {
  id: number;
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** Assigned when sent; kept across reconnects so a resend carries the same id (MQTT-4.3.2). */
  packetId?: number;
  /** QoS 2 only: 'pubrel' once PUBREC was seen, so a reconnect resends PUBREL, not PUBLISH. */
  phase?: 'publish' | 'pubrel';
  /** Session-internal messages (the birth) are never written to a store. */
  transient?: boolean;
}
