// Moddable's `crypt` module ($(MODULES)/crypt/digest, from tls_419.json), as the SDK 8.2.3 typings
// declare it (typings/crypt.d.ts). @moddable/typings 5.6.0 lacks it, so `npm run typecheck` reads
// this copy; mcconfig has the SDK's own and is not given this file (two declarations of Digest
// would clash). At run time write() also takes any ArrayBufferView (xsmcGetBufferReadable).
declare module 'crypt' {
  type DigestType = 'MD5' | 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512';

  export class Digest {
    constructor(type: DigestType);
    write(message: string | ArrayBuffer): void;
    close(): ArrayBuffer;
    reset(): void;
    get blockSize(): number;
    get outputSize(): number;
    update(message: string | ArrayBuffer): void;
  }
}
