// Little-endian field readers and the hex spelling used in every ESP image error detail, shared so
// that details read the same whichever module reports them.

export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** "0x1E5E0"; `digits` pads, e.g. hex(0x42, 4) = "0x0042". */
export function hex(n: number, digits = 1): string {
  return '0x' + n.toString(16).toUpperCase().padStart(digits, '0');
}
