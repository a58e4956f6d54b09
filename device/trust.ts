// The OTA trust store compiled into the firmware. This default has none, so the firmware takes no
// updates. Generate yours with `canopy ota pubkey --key release.pem --out trust.json --ts device/trust.ts`.
export const trustStore: unknown = undefined;

export default trustStore;
