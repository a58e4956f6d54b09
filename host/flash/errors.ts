// Everything `canopy flash` and `canopy serial` can fail with, each with a reason a script can
// branch on and a message a person can act on (what happened, then what to do).

export const FLASH_REASONS = {
  'no-port': 'no USB serial bridge found',
  'several-ports': 'more than one USB serial bridge found',
  'port-missing': 'the serial port does not exist',
  'port-busy': 'the serial port is held by another program',
  'permission-denied': 'no permission to open the serial port',
  'port-failed': 'the serial port failed',
  'no-sync': 'the ROM loader did not answer',
  'chip-mismatch': 'an image is built for another chip',
  plan: 'the flash input is incomplete or inconsistent',
  'ota-invalid': 'an OTA package failed verification (or no trust store was given)',
  'too-big': 'an image does not fit the flash or its partition',
  'write-failed': 'the chip refused a write',
  'verify-failed': 'flash contents differ from the image after writing',
  loader: 'the loader protocol failed',
} as const;

export type FlashReason = keyof typeof FLASH_REASONS;

export class FlashError extends Error {
  override name = 'FlashError';
  constructor(
    readonly reason: FlashReason,
    message: string,
  ) {
    super(message);
  }
}
