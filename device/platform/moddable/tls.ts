// TLS for mqtts:// brokers on esp32: the SDK's ECMA-419 TLS socket (examples/io/tcp/tlssocket,
// included by manifest.json). The server is checked against the CA certificates in the firmware's
// resources, as Moddable's TLS does; SNI is the broker's host name.
import TLSSocket from 'embedded:io/socket/tcp/tls';
import TCP from 'embedded:io/socket/tcp';
import type { SocketFactory } from 'device/platform/moddable/connection';

export const tlsSocket: SocketFactory = (o) =>
  new TLSSocket({
    address: o.address,
    host: o.host,
    port: o.port,
    TCP: { io: TCP },
    secure: { serverName: o.host },
    format: 'buffer',
    onReadable: o.onReadable,
    onWritable: o.onWritable,
    onError: o.onError,
  });
