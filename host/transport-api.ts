// `canopy/transport`: the MQTT session a host program runs against a broker, the same one
// `canopy session`, the simulator's V8 devices and the OTA tools use: the sans-I/O Session
// (protocol/session) and SessionDriver, its link to a TCP or TLS socket.
export { SessionDriver, parseBrokerUrl, type BrokerAddress, type DriverOptions, type TlsFiles } from './transport.ts';
export { Session, type SessionEvent, type SessionOptions, type SessionState } from '../protocol/session/session.ts';
export { Outbox } from '../protocol/session/outbox.ts';
export { Topics } from '../protocol/topics.ts';
