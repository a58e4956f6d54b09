// Vendor and device-class ids, one definition for the packer (host) and the device: a UUID as
// written, or a name mapped to the first 16 bytes of SHA-256("canopy-id:" + name), so a firmware
// config can say "acme" and match the packages `canopy ota pack --vendor acme` makes.
import { utf8Encode } from '../utf8';
import { fromHex } from './bytes';
import { sha256 } from './sha256';

const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

export function idBytes(v: string): Uint8Array {
  if (UUID.test(v)) return fromHex(v.replace(/-/g, ''));
  if (v.length === 0) throw new Error('vendor and class ids must not be empty');
  return sha256(utf8Encode('canopy-id:' + v)).slice(0, 16);
}
