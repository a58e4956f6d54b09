// TLS for mqtts:// brokers on esp32: the SDK's ECMA-419 TLS socket (examples/io/tcp/tlssocket,
// included by manifest_sdk.json). The server is checked against the broker CA provisioned in NVS
// (`tlsCa`) when there is one, else against the CA certificates in the firmware's resources, as
// Moddable's TLS does; SNI is the broker's host name. A provisioned client certificate and key
// (`tlsCert`, `tlsKey`, DER, written by `canopy provision`) are presented to a broker that asks
// (mosquitto's require_certificate). Moddable's ssl_cert takes all three as DER.
import TLSSocket from 'embedded:io/socket/tcp/tls';
import TCP from 'embedded:io/socket/tcp';
import type { SocketFactory } from 'device/platform/moddable/connection';
import { tlsSecureOptions, type TlsIdentity } from 'device/config';

export function tlsSocket(identity?: TlsIdentity): SocketFactory {
  return (o) =>
    new TLSSocket({
      address: o.address,
      host: o.host,
      port: o.port,
      TCP: { io: TCP },
      secure: tlsSecureOptions(o.host, identity),
      format: 'buffer',
      onReadable: o.onReadable,
      onWritable: o.onWritable,
      onError: o.onError,
    });
}
