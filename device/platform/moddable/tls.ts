// TLS sockets for builds that include manifest_tls.json (the SDK's ECMA-419 TLS socket). Peer
// verification uses the CA certificates in the firmware's resources, as Moddable's TLS does.
import TLSSocket from 'embedded:io/socket/tcp/tls';
import TCP from 'embedded:io/socket/tcp';
import type { SocketFactory } from './connection';

export const tlsSocket: SocketFactory = (o) =>
  new TLSSocket({
    address: o.address,
    host: o.host,
    port: o.port,
    TCP: { io: TCP },
    secure: { serverName: o.host },
    onReadable: o.onReadable,
    onWritable: o.onWritable,
    onError: o.onError,
  } as unknown as ConstructorParameters<typeof TLSSocket>[0]) as unknown as ReturnType<SocketFactory>;
