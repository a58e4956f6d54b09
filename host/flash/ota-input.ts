// The one step between a signed Canopy OTA package and the bytes `canopy flash` writes: check the
// package and hand back its payload (an ESP-IDF app image), or throw. Kept to a single function so
// the OTA package module (protocol/ota/package.ts, on its own branch) plugs in here and nowhere else.

import { FlashError } from './errors.ts';

export interface VerifiedPayload {
  /** The app image the package carries, already checked against the package's signatures and digest. */
  image: Uint8Array;
  /** What to show in the summary, e.g. "canopy-sensor 1.4.2 (sequence 17)". */
  description: string;
}

export type OtaPayloadStep = (pkg: Uint8Array, source: string) => Promise<VerifiedPayload>;

/** Until the OTA package module is merged: refuse clearly instead of guessing at the format. */
export const verifyOtaPackage: OtaPayloadStep = async (_pkg, source) => {
  throw new FlashError(
    'ota-unsupported',
    `cannot flash ${source}: OTA package input is not supported yet: it needs the OTA package module ` +
      '(protocol/ota/package.ts). Flash the build folder or ADDRESS=FILE pairs instead.',
  );
};
