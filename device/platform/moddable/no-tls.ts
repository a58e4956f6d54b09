// Default `canopy/tls` when the firmware is built without TLS: an mqtts:// broker is a clear
// error at connect time rather than a missing module at link time.
import type { SocketFactory } from './connection';

export const tlsSocket: SocketFactory = () => {
  throw new Error('this firmware was built without TLS; add "./manifest_tls.json" to the build (see README) or use mqtt://');
};
