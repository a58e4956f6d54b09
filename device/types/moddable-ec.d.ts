// The SDK's elliptic-curve modules that device/platform/moddable/native-crypto.ts uses, as
// $(MODULES)/crypt/etc/{ecdsa,curve}.js and arith/ecp.js define them in SDK 8.2.3 (they come with
// $(MODULES)/crypt/tls_419.json). Neither the SDK's own typings nor @moddable/typings 5.6.0
// declare them, so this one file serves mcconfig (manifest.json's "types") and `npm run typecheck`.
// Only what Canopy calls is declared. `crypt` is declared by the SDK's typings (typings/crypt.d.ts);
// device/types/crypt.d.ts stands in for it where only 5.6.0 is at hand.
declare module 'ecp' {
  /** An affine point (x, y) of the curve's field; BigInt coordinates. */
  export default class ECPoint {
    constructor(x: bigint, y: bigint, identity?: boolean);
    get X(): bigint;
    get Y(): bigint;
    isZero(): boolean;
  }
}

declare module 'curve' {
  import type ECPoint from 'ecp';
  /** Named curve parameters; only "secp256r1" and "secp384r1" exist. Native point arithmetic (arith/ec.c). */
  export default class Curve {
    constructor(name: 'secp256r1' | 'secp384r1');
    readonly G: ECPoint;
    readonly n: bigint;
    get orderSize(): number;
  }
}

declare module 'ecdsa' {
  import type ECPoint from 'ecp';
  import type Curve from 'curve';
  /**
   * ECDSA over `curve` with public point `key` (for verify). `verify(H, sig)` takes the message
   * digest and a raw r‖s signature (asn1 false), both ArrayBuffers. It does not range-check r
   * and s nor check that `key` is on the curve: the caller must.
   */
  export default class ECDSA {
    constructor(key: ECPoint, curve: Curve);
    verify(H: ArrayBuffer, sig: ArrayBuffer, asn1?: boolean): boolean;
  }
}
