// `canopy/tls` on lin (mcsim), which this firmware builds without the SDK's TLS socket: an
// mqtts:// broker is a clear error at connect time rather than a missing module at link time.
import type { SocketFactory } from 'device/platform/moddable/connection';
import type { TlsIdentity } from 'device/config';

export function tlsSocket(_identity?: TlsIdentity): SocketFactory {
  return () => {
    throw new Error('the lin build of this firmware has no TLS; use an mqtt:// broker there (the esp32 build has TLS)');
  };
}
