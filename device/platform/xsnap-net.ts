// Op codes of the "net" bridge channel between the device's xsnap platform (device/platform/xsnap.ts)
// and the host that owns the sockets (sim/xs-device.ts): one definition for both halves.
export const NetOp = Object.freeze({
  /** guest → host: [op][id u32][port u16][secure u8][host UTF-8] */
  connect: 1,
  /** guest → host: [op][id u32][bytes] */
  write: 2,
  /** guest → host: [op][id u32] */
  close: 3,
  /** host → guest: [op][id u32] */
  connected: 4,
  /** host → guest: [op][id u32][bytes] */
  data: 5,
  /** host → guest: [op][id u32][reason UTF-8] */
  closed: 6,
} as const);
