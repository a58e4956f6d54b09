// The one list of OTA outcome reasons. CLI `verify`, the simulator's devices and the firmware all
// report through it, so a failure reads the same in a CBOR status message, a CLI exit code and a
// test assertion. Codes are part of the wire format and the CLI contract: append new reasons with
// new codes, never renumber or reuse one. 0 means valid; 1 and 2 stay free for the CLI's own usage
// and internal errors; the codes fit a two-byte CBOR unsigned integer.

export const OTA_REASONS = {
  ok: { code: 0, description: 'package is valid and may be installed' },
  frame: { code: 10, description: 'package framing is malformed (magic, version or length fields)' },
  truncated: { code: 11, description: 'package ends before a structure it declares' },
  trailing: { code: 12, description: 'bytes follow the end of the package' },
  cbor: { code: 13, description: 'envelope or manifest is not strict deterministic CBOR' },
  envelope: { code: 14, description: 'envelope or COSE_Sign1 structure does not have the required shape' },
  signature: { code: 15, description: 'signatures do not verify against trusted keys or the threshold is not met' },
  manifest: { code: 16, description: 'manifest has a missing, unknown or ill-typed field' },
  class: { code: 17, description: 'vendor or device class does not match this device' },
  target: { code: 18, description: 'package is targeted at a device list that excludes this device' },
  rollback: { code: 19, description: 'sequence number is not newer than the installed one' },
  prerequisite: { code: 20, description: 'installed sequence is below the minimum the package requires' },
  expired: { code: 21, description: 'package expiry time has passed' },
  size: { code: 22, description: 'payload size is zero or larger than the update partition' },
  chunk: { code: 23, description: 'a chunk does not match its digest, or the chunk table is malformed' },
  digest: { code: 24, description: 'payload SHA-256 does not match the manifest' },
  'esp-mismatch': { code: 25, description: 'ESP image fields disagree with the manifest' },
  'esp-image': { code: 26, description: 'payload is not a well-formed ESP-IDF app image' },
  busy: { code: 27, description: 'another update is in progress or awaiting confirmation' },
  flash: { code: 28, description: 'erasing, writing, reading back or switching the boot partition failed' },
} as const;

export type OtaStatus = keyof typeof OTA_REASONS;
/** Every failure reason; 'ok' is a status, never the reason of an error. */
export type OtaReason = Exclude<OtaStatus, 'ok'>;

const byCode = new Map<number, OtaStatus>();
for (const name of Object.keys(OTA_REASONS) as OtaStatus[]) byCode.set(OTA_REASONS[name].code, name);

/** The stable integer for CBOR status messages and CLI exit codes. */
export function reasonCode(status: OtaStatus): number {
  return OTA_REASONS[status].code;
}

/** The status for a code received off the wire, or undefined for a code this build does not know. */
export function reasonFromCode(code: number): OtaStatus | undefined {
  return byCode.get(code);
}

export function describeReason(status: OtaStatus): string {
  return OTA_REASONS[status].description;
}

export class OtaError extends Error {
  override name = 'OtaError';
  readonly reason: OtaReason;
  /** Exact, human-readable cause, e.g. "checksum mismatch: stored 0x12, computed 0x34". */
  readonly detail: string;

  constructor(reason: OtaReason, detail: string) {
    super(`${reason}: ${detail}`);
    this.reason = reason;
    this.detail = detail;
  }

  get code(): number {
    return OTA_REASONS[this.reason].code;
  }
}
