// A simulated device's broker connection on the host: a TCP or TLS socket behind the platform
// Connection interface (device/platform/types.ts). Shared by the XS engine's bridge and the V8
// engine. Every byte and state change counts on the run's NetActivity, which is how the
// simulator's virtual time knows the network has gone quiet before it moves the clock on.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Connection, ConnectionHandlers } from '../device/platform/types.ts';
import { describeSocketError, isIp } from './transport.ts';

/**
 * Counts socket events of one simulator run (its devices, fault proxies and observer); virtual
 * time waits for the count to stop moving. One per run, passed in, so two runs in one process do
 * not wait on each other's traffic.
 */
export class NetActivity {
  count = 0;

  note(): void {
    this.count++;
  }
}

export interface DeviceSocket extends Connection {
  /** Gone with no goodbye: the device lost power. */
  destroy(): void;
}

/**
 * The CA certificates simulated devices verify an mqtts:// broker against, as the firmware checks
 * the ones built into it: one for the whole simulated fleet (`canopy sim --ca`), the system's roots
 * when unset. Never "trust anything": a device that would refuse the broker must refuse it here too.
 */
let trustedCa: Buffer | undefined;

export function setDeviceTrust(ca: Buffer | undefined): void {
  trustedCa = ca;
}

/**
 * A device's own TLS client identity: the certificate and key `canopy provision` issued it (the
 * firmware reads the same pair from its NVS, keys tlsCert/tlsKey). PEM or DER bytes.
 */
export interface DeviceIdentity {
  cert: Buffer;
  key: Buffer;
}

/**
 * Where plain TCP device sockets read into (net's `onread`): one buffer for the whole fleet, each
 * read copied out before the next. It skips the Readable stream's machinery for every PUBACK,
 * which was a good part of a simulated device's CPU.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export function openDeviceSocket(host: string, port: number, secure: boolean, handlers: ConnectionHandlers, activity?: NetActivity, identity?: DeviceIdentity): DeviceSocket {
  let open = true;
  const onRead = (n: number, buf: Uint8Array): boolean => {
    activity?.note();
    if (!open) return true;
    const bytes = new Uint8Array(n);
    bytes.set(buf.subarray(0, n));
    handlers.onData(bytes);
    return true; // keep reading
  };
  // SNI and the name checked are the broker's host name, as the firmware's TLS socket sends them.
  const socket: Socket = secure
    ? tlsConnect({ host, port, ca: trustedCa, servername: isIp(host) ? undefined : host, ...(identity ? { cert: identity.cert, key: identity.key } : {}) })
    : tcpConnect({ host, port, onread: { buffer: READ_BUFFER, callback: onRead } });
  socket.setNoDelay(true);
  let reason = 'connection closed by the broker';
  socket.once(secure ? 'secureConnect' : 'connect', () => {
    activity?.note();
    if (open) handlers.onConnect();
  });
  if (secure) {
    socket.on('data', (chunk: Buffer) => {
      activity?.note();
      if (open) handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
  }
  socket.on('error', (err: NodeJS.ErrnoException) => {
    reason = describeSocketError(err, host, port);
  });
  socket.on('close', () => {
    activity?.note();
    if (!open) return;
    open = false;
    handlers.onClose(reason);
  });
  return {
    write(bytes) {
      if (!open) return;
      activity?.note();
      socket.write(bytes);
    },
    close() {
      if (!open) return;
      open = false;
      socket.end();
    },
    destroy() {
      open = false;
      socket.destroy();
    },
  };
}
