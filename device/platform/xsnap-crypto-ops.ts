// Op codes of the bridge channel "crypto" (device/platform/xsnap-crypto.ts documents the payloads),
// alone in a module so the host (host/xs/crypto-service.ts) imports them without the guest's bridge.
export const CryptoOp = { update: 2, finish: 3, verify: 4 } as const;
