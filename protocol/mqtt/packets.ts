// MQTT 3.1.1 control packets as plain data. One definition shared by the codec, the session,
// the simulator and the tests; the wire format itself lives only in encode.ts and parser.ts.

export type QoS = 0 | 1 | 2;

/** SUBACK return code for a refused subscription (MQTT-3.9.3). */
export const SUBACK_FAILURE = 0x80;

/** CONNACK return codes (MQTT-3.2.2.3); `connackReason` says them in words. */
export const ConnackCode = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

const CONNACK_REASONS = ['accepted', 'unacceptable protocol version', 'client identifier rejected', 'server unavailable', 'bad user name or password', 'not authorized'];

export function connackReason(code: number): string {
  return CONNACK_REASONS[code] ?? `return code ${code}`;
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
}

export interface ConnectPacket {
  type: 'connect';
  clientId: string;
  cleanSession: boolean;
  /** Seconds; 0 disables keepalive. */
  keepalive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  returnCode: number;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0. */
  packetId?: number;
}

export interface PubackPacket { type: 'puback'; packetId: number }
export interface PubrecPacket { type: 'pubrec'; packetId: number }
export interface PubrelPacket { type: 'pubrel'; packetId: number }
export interface PubcompPacket { type: 'pubcomp'; packetId: number }

export interface Subscription {
  topic: string;
  qos: QoS;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** Granted QoS per filter, or SUBACK_FAILURE (0x80). */
  granted: number[];
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topics: string[];
}

export interface UnsubackPacket { type: 'unsuback'; packetId: number }
export interface PingreqPacket { type: 'pingreq' }
export interface PingrespPacket { type: 'pingresp' }
export interface DisconnectPacket { type: 'disconnect' }

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket;

export type PacketType = Packet['type'];

/** A violation of the MQTT 3.1.1 specification found while encoding or parsing. */
export class MqttProtocolError extends Error {
  override name = 'MqttProtocolError';
  /** Short rule name, e.g. 'reserved-flags', 'remaining-length', 'packet-id-zero'. */
  readonly rule: string;
  constructor(rule: string, message: string) {
    super(`${message} [${rule}]`);
    this.rule = rule;
  }
}
