// The SDK's ECMA-419 TLS socket (examples/io/tcp/tlssocket, included by manifest.json for esp32)
// ships no declaration; its shape as tlssocket.js defines it. The SDK's own typings and
// @moddable/typings 5.6.0 disagree on it, so this one file serves mcconfig and `npm run typecheck`.
declare module 'embedded:io/socket/tcp/tls' {
  import type TCP from 'embedded:io/socket/tcp';

  export interface TLSSocketOptions {
    address?: string;
    host: string;
    port: number;
    /** The TCP socket class the TLS layer runs over. */
    TCP: { io: typeof TCP };
    /** TLS session options: serverName, protocolVersion, certificates. */
    secure?: Record<string, unknown>;
    onReadable?: (count: number) => void;
    onWritable?: (count: number) => void;
    onError?: () => void;
    format?: 'buffer' | 'number';
  }

  export default class TLSSocket {
    constructor(options: TLSSocketOptions);
    read(count?: number): ArrayBuffer | undefined;
    write(bytes: ArrayBufferLike | ArrayBufferView): number;
    close(): void;
    format: string;
  }
}
