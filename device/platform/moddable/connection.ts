// A platform Connection over an ECMA-419 socket (`embedded:io/socket/tcp`, or the TLS socket with
// the same interface). The socket accepts only as many bytes as its last onWritable reported,
// so writes queue here and drain as room appears. Host names go through the runtime's resolver.
import TCP from 'embedded:io/socket/tcp';
import Net from 'net';
import type { Connection, ConnectionHandlers } from '../types';

/** The shape both TCP and the TLS socket share. */
export interface ByteSocket {
  read(count: number): unknown;
  write(bytes: Uint8Array): unknown;
  close(): unknown;
}

export type SocketFactory = (options: {
  address: string;
  host: string;
  port: number;
  onReadable: (count: number) => void;
  onWritable: (count: number) => void;
  onError: () => void;
}) => ByteSocket;

export const tcpSocket: SocketFactory = (o) =>
  new TCP({ address: o.address, port: o.port, nodelay: true, format: 'buffer', onReadable: o.onReadable, onWritable: o.onWritable, onError: o.onError });

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export class SocketConnection implements Connection {
  private socket: ByteSocket | undefined;
  private readonly queue: Uint8Array[] = [];
  private room = 0;
  private connected = false;
  private closed = false;

  constructor(
    host: string,
    port: number,
    private readonly factory: SocketFactory,
    private readonly handlers: ConnectionHandlers,
  ) {
    if (IPV4.test(host)) {
      this.open(host, host, port);
      return;
    }
    Net.resolve(host, (_name, address) => {
      if (this.closed) return;
      if (!address) this.fail(`cannot resolve the broker host "${host}"`);
      else this.open(address, host, port);
    });
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(bytes);
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.close();
    this.socket = undefined;
  }

  private open(address: string, host: string, port: number): void {
    try {
      this.socket = this.factory({
        address,
        host,
        port,
        onReadable: (count) => {
          const bytes = this.socket?.read(count);
          if (bytes instanceof ArrayBuffer && !this.closed) this.handlers.onData(new Uint8Array(bytes));
        },
        onWritable: (count) => {
          this.room = count;
          if (!this.connected) {
            this.connected = true;
            this.handlers.onConnect();
          }
          this.pump();
        },
        onError: () => this.fail(this.connected ? 'connection lost' : `cannot connect to ${host}:${port}`),
      });
    } catch (err) {
      this.fail(`cannot open a socket to ${host}:${port}: ${(err as Error).message}`);
    }
  }

  private pump(): void {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    while (this.queue.length > 0 && this.room > 0) {
      const head = this.queue[0];
      const n = Math.min(head.length, this.room);
      socket.write(n === head.length ? head : head.subarray(0, n));
      this.room -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.close();
    this.socket = undefined;
    this.handlers.onClose(reason);
  }
}
