// The Moddable SDK modules that Canopy's firmware builds contain, per platform: the one list the
// module-resolution check (test/module-resolution.test.ts) accepts for bare specifiers that are
// not Canopy modules. The SDK is not at hand in CI, so the list is pinned here, read off real
// builds of manifest.json with SDK 8.2.3 (the `modules/` folder of `mcconfig -p lin` and of the
// esp32 TypeScript/xsc/xsl steps); `npm run test:moddable` builds again and fails if the real build
// and this list disagree. Each group says which included SDK manifest brings it.
import type { XsPlatform } from './manifest.ts';

interface SdkGroup {
  /** The SDK manifest (as included, directly or through another) that adds these modules. */
  from: string;
  modules: string[];
}

const common: SdkGroup[] = [
  { from: 'mcconfig itself: the manifest\'s "config" section', modules: ['mc/config'] },
  { from: '$(MODDABLE)/examples/manifest_base.json (files/resource)', modules: ['Resource'] },
  { from: '$(MODDABLE)/examples/manifest_base.json (the platform manifest: base/time, base/timer)', modules: ['time', 'timer'] },
  { from: '$(MODDABLE)/examples/manifest_typings.json (its tsconfig files become modules)', modules: ['package', 'tsconfig.es2024', 'tsconfig.es2025'] },
  { from: '$(MODDABLE)/modules/io/manifest.json (system: the global System and device)', modules: ['system', 'embedded:io/serial'] },
  {
    from: '$(MODDABLE)/modules/io/manifest.json (sockets) and $(MODULES)/network/*/manifest.json',
    modules: ['embedded:io/socket/tcp', 'embedded:io/socket/udp', 'embedded:io/socket/listener', 'net', 'socket', 'sntp', 'wifi'],
  },
];

// $(MODULES)/crypt/tls_419.json: the TLS stack with the native digests (crypt) and EC arithmetic
// (ec, ecp, mont, modular) that canopy/crypto uses on esp32 and lin.
const tls419 = [
  'ber', 'bin', 'crypt', 'curve', 'dsa', 'ec', 'ecdsa', 'ecp', 'gcm', 'hmac', 'modular', 'mont', 'pkcs1', 'pkcs1_5', 'pkcs8', 'rng', 'rsa', 'x509',
  'ssl/alert', 'ssl/cache', 'ssl/cert', 'ssl/changecipher', 'ssl/ciphersuites', 'ssl/constants', 'ssl/error', 'ssl/handshake', 'ssl/prf',
  'ssl/record', 'ssl/session', 'ssl/setup', 'ssl/stream',
];

/** Per platform: the SDK includes the list was read with, and what they bring. */
export const SDK_BUILDS: Record<'esp32' | 'lin', { includes: string[]; groups: SdkGroup[] }> = {
  lin: {
    includes: [
      '$(MODDABLE)/examples/manifest_base.json',
      '$(MODDABLE)/examples/manifest_typings.json',
      '$(MODDABLE)/modules/io/manifest.json',
      '$(MODULES)/network/net/manifest.json',
      '$(MODULES)/files/preference/manifest.json',
      '$(MODULES)/files/file/manifest.json',
      '$(MODULES)/crypt/tls_419.json',
    ],
    groups: [
      ...common,
      { from: '$(MODULES)/files/preference/manifest.json and files/file/manifest.json (lin: preference and the outbox over files)', modules: ['preference', 'file'] },
      { from: '$(MODULES)/crypt/tls_419.json (for canopy/crypto)', modules: tls419 },
      { from: '$(BUILD_SIMULATOR)/manifest.json (mcsim\'s screen)', modules: ['screen'] },
    ],
  },
  esp32: {
    includes: [
      '$(MODDABLE)/examples/manifest_base.json',
      '$(MODDABLE)/examples/manifest_typings.json',
      '$(MODDABLE)/modules/io/manifest.json',
      '$(MODULES)/network/net/manifest.json',
      '$(MODULES)/network/socket/manifest.json',
      '$(MODULES)/network/sntp/manifest.json',
      '$(MODULES)/network/wifi/manifest.json',
      '$(MODDABLE)/examples/io/tcp/tlssocket/manifest.json',
      '$(MODULES)/files/flash/manifest.json',
    ],
    groups: [
      ...common,
      { from: '$(BUILD)/devices/esp32/manifest.json (NVS preference)', modules: ['preference'] },
      { from: '$(MODULES)/files/flash/manifest.json (raw partitions: the outbox ring)', modules: ['flash'] },
      {
        from: '$(MODDABLE)/modules/io/manifests/esp32/manifest.json (ECMA-419 IO)',
        modules: [
          'embedded:io/analog', 'embedded:io/digital', 'embedded:io/digitalbank', 'embedded:io/i2c', 'embedded:io/pulsecount',
          'embedded:io/pulsewidth', 'embedded:io/pwm', 'embedded:io/smbus', 'embedded:io/spi', 'embedded:implementation/i2csync',
          'embedded:implementation/smbussync', 'embedded:provider/builtin', 'embedded:network/interface/wifi', 'commodetto/Bitmap', 'setup/network',
        ],
      },
      { from: '$(MODDABLE)/examples/io/tcp/tlssocket/manifest.json (the ECMA-419 TLS socket)', modules: ['embedded:io/socket/tcp/tls'] },
      { from: '$(MODDABLE)/examples/io/tcp/tlssocket/manifest.json (through $(MODDABLE)/modules/crypt/tls_419.json)', modules: tls419 },
    ],
  },
};

export class SdkModulesError extends Error {
  override name = 'SdkModulesError';
}

/**
 * The SDK module names a `platform` build has. Fails when the manifest's SDK includes are not the
 * ones the list was read with: the list would be a guess, so it must be read again off a build.
 * The simulator's XS engine (xsnap) has no SDK modules: its platform modules talk to the host, and
 * its stand-ins for `timer`, `time` and `preference` are modules of its build (manifest.json's
 * xsnap section), found as any other.
 */
export function sdkModulesFor(platform: XsPlatform, includes: string[]): ReadonlySet<string> {
  if (platform === 'xsnap') return new Set();
  const pinned = SDK_BUILDS[platform];
  const got = [...new Set(includes)].sort();
  const want = [...pinned.includes].sort();
  if (got.join('\n') !== want.join('\n')) {
    throw new SdkModulesError(
      `the ${platform} build includes SDK manifests [${got.join(', ')}], but host/xs/sdk-modules.ts was read off a build with [${want.join(', ')}]: ` +
        'rebuild with real mcconfig (npm run test:moddable prints the modules it finds) and update the list',
    );
  }
  return new Set(pinned.groups.flatMap((g) => g.modules));
}
