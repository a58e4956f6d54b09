// esp_app_desc_t: the 256-byte record at the start of an app's first segment (file offset 32) that
// names the build. Bootloader images have none, which is how the two are told apart.

import { utf8Decode } from '../utf8';
import { u32 } from './le';

export const APP_DESC_MAGIC = 0xabcd5432;
export const APP_DESC_LENGTH = 256;

export interface EspAppDescriptor {
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  appElfSha256: Uint8Array;
}

/** ok: the descriptor, or undefined when absent and allowed to be; error: the exact detail. */
export type AppDescriptorOutcome = { ok: EspAppDescriptor | undefined } | { error: string };

/**
 * Decodes the first `have` bytes of segment 0 (`have` < 256 only when the segment is that short).
 * Returns rather than throws so the parser can hold the verdict until the image's integrity is known.
 */
export function decodeAppDescriptor(d: Uint8Array, have: number, required: boolean): AppDescriptorOutcome {
  if (have < 4 || u32(d, 0) !== APP_DESC_MAGIC) {
    return required ? { error: 'app descriptor magic missing (bootloader image?)' } : { ok: undefined };
  }
  if (have < APP_DESC_LENGTH) {
    return { error: `segment 0 is ${have} bytes, too short for the ${APP_DESC_LENGTH}-byte app descriptor` };
  }
  const fields: [string, number, number][] = [
    ['version', 16, 32],
    ['project_name', 48, 32],
    ['time', 80, 16],
    ['date', 96, 16],
    ['idf_ver', 112, 32],
  ];
  const text: string[] = [];
  for (const [field, at, size] of fields) {
    // C strings in fixed fields: without a NUL inside the field a C reader runs on into the next one.
    const end = d.subarray(at, at + size).indexOf(0);
    if (end < 0) return { error: `app descriptor ${field} is not NUL-terminated within its ${size} bytes` };
    try {
      text.push(utf8Decode(d.subarray(at, at + end)));
    } catch (e) {
      // Decoding the field alone makes the Utf8Error's byte offset relative to the field.
      return { error: `app descriptor ${field} is not valid UTF-8: ${(e as Error).message} of the field` };
    }
  }
  const [version, projectName, time, date, idfVersion] = text;
  return {
    ok: { secureVersion: u32(d, 4), version, projectName, time, date, idfVersion, appElfSha256: d.slice(144, 176) },
  };
}
