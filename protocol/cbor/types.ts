/** A CBOR data item as JS sees it. Integer-keyed maps are `Map`s; text-keyed ones may be objects. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | Tagged
  | { [key: string]: CborValue };

export class Tagged {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

export type CborReason =
  | 'truncated'
  | 'trailing'
  | 'non-minimal'
  | 'indefinite'
  | 'duplicate-key'
  | 'unsorted-keys'
  | 'depth'
  | 'utf8'
  | 'tag'
  | 'float'
  | 'int-range'
  | 'simple'
  | 'reserved'
  | 'unsupported';

export class CborError extends Error {
  override name = 'CborError';
  constructor(
    readonly reason: CborReason,
    message: string,
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `${message} at byte ${offset} [${reason}]` : `${message} [${reason}]`);
  }
}
