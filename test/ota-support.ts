// Shared fixtures for the OTA tests: real ESP-IDF images, keys, a trust store and a device context.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OtaError } from '../protocol/ota/reasons.ts';
import { trustedKey, type TrustStore } from '../protocol/ota/trust.ts';
import type { DeviceContext } from '../protocol/ota/policy.ts';
import { generateKeyPem, signingKey, type SigningKey } from '../ota/keys.ts';
import { idBytes } from '../ota/pack.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');
export const loadFixture = (chip: string, file = 'hello_world.bin') => new Uint8Array(readFileSync(resolve(FIXTURES, chip, file)));
export const CHIPS = ['esp32', 'esp32-c3', 'esp32-s3'] as const;

export const release = signingKey(generateKeyPem('ES256'));
export const release2 = signingKey(generateKeyPem('ES256'));
export const field = signingKey(generateKeyPem('ES256'));
export const edKey = signingKey(generateKeyPem('EdDSA'));
export const stranger = signingKey(generateKeyPem('ES256'));

export function trustOf(keys: [SigningKey, 'release' | 'field'][], threshold = 1): TrustStore {
  return { threshold, keys: keys.map(([k, role]) => trustedKey(k.spki, role)) };
}

export const trust = trustOf([
  [release, 'release'],
  [release2, 'release'],
  [field, 'field'],
  [edKey, 'release'],
]);

export const packOptions = { seq: 5, vendor: 'acme', class: 'sensor-v1' };

export function deviceContext(over: Partial<DeviceContext> = {}): DeviceContext {
  return {
    vendor: idBytes('acme'),
    class: idBytes('sensor-v1'),
    deviceId: 'dev-1',
    installedSeq: 4,
    now: 1_800_000_000,
    partitionSize: 0x1f0000,
    chipId: 0,
    chipRevision: 0,
    secureVersion: 0,
    ...over,
  };
}

/** The reason an OtaError carries, or 'ok'. */
export function reasonOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (e) {
    if (e instanceof OtaError) return e.reason;
    throw e;
  }
}
