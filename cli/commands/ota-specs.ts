// The flags, forms and examples of every `canopy ota` verb: what each parses and what its
// `--help` says (cli/flags.ts). Kept apart from cli/commands/ota.ts, which does the work.
import { verb, type FlagSpec } from '../flags.ts';
import { brokerFlags } from '../broker-flags.ts';

const out = (what: string): FlagSpec => ({ type: 'string', value: 'FILE', help: `where to write ${what}` });

const manifestFlags = {
  image: { type: 'string', value: 'APP.bin', help: 'the ESP-IDF app image' },
  seq: { type: 'string', value: 'N|auto', help: 'sequence number; auto = one above the highest of the fleet\'s retained OTA status (--broker) and --state; refused when neither knows one' },
  vendor: { type: 'string', value: 'V', help: 'vendor: a UUID or a name (16 bytes of SHA-256("canopy-id:" + name))' },
  class: { type: 'string', value: 'C', help: 'device class: a UUID or a name' },
  'chunk-size': { type: 'string', value: 'N', help: 'signed chunk table block size (default 4096, 0 = no table)' },
  device: { type: 'string', multiple: true, value: 'ID', help: 'only these devices may install it' },
  expires: { type: 'string', value: 'ISO|EPOCH|+Nd', help: 'devices refuse it after this time' },
  'min-seq': { type: 'string', value: 'N', help: 'devices below this installed sequence refuse it' },
  info: { type: 'string', value: 'TEXT', help: 'free text carried in the manifest' },
  state: { type: 'string', value: 'FILE', help: 'where --seq auto keeps the last sequence (default ~/.canopy/ota-seq.json; docs/ota-cli-state.md)' },
  broker: { type: 'string', value: 'URL', help: 'for --seq auto: read the fleet\'s retained OTA status here' },
  prefix: { type: 'string', value: 'P', help: 'topic prefix for --broker (default canopy)' },
  out: out('the result'),
} as const satisfies Record<string, FlagSpec>;

export const otaSpecs = {
  keygen: verb({
    name: 'ota keygen',
    summary: 'Writes a new private signing key (PKCS#8, mode 0600) and prints its key id.',
    flags: {
      out: out('the key (PEM)'),
      alg: { type: 'string', value: 'ES256|EdDSA', help: 'algorithm (default ES256, the one devices verify)' },
      force: { type: 'boolean', help: 'overwrite an existing file' },
    },
    examples: ['ota keygen --out release.pem'],
  }),
  pubkey: verb({
    name: 'ota pubkey',
    summary: 'Writes the trust store for the given keys, as JSON and as a TypeScript module compiled into device builds.',
    flags: {
      key: { type: 'string', multiple: true, value: 'KEY.pem', help: 'a release key' },
      'field-key': { type: 'string', multiple: true, value: 'KEY.pem', help: 'a field key (counts toward the threshold on hosts)' },
      threshold: { type: 'string', value: 'N', help: 'signatures a package needs (default 1, at most 4)' },
      out: out('the trust store (JSON)'),
      ts: { type: 'string', value: 'FILE', help: 'where to write the TypeScript module (default: --out with .ts)' },
    },
    examples: ['ota pubkey --key release.pem --out trust.json --ts device/trust.ts'],
  }),
  inspect: verb({
    name: 'ota inspect',
    forms: ['FILE [--json]'],
    summary: 'Describes an ESP-IDF .bin or a Canopy package: image header, app description, manifest, signatures.',
    args: { FILE: 'an ESP-IDF app image or a Canopy OTA package' },
    flags: { json: { type: 'boolean', help: 'the description as JSON (docs/cli-json.md)' } },
    examples: ['ota inspect app.canopy', 'ota inspect build/app.bin --json'],
  }),
  pack: verb({
    name: 'ota pack',
    forms: ['--image APP.bin --key KEY.pem --seq N|auto --vendor V --class C --out PKG [flags]'],
    summary: 'Builds and signs a package from an app image.',
    flags: { ...manifestFlags, key: { type: 'string', multiple: true, value: 'KEY.pem', help: 'a signing key' } },
    examples: ['ota pack --image build/app.bin --key release.pem --seq auto --vendor canopy --class sensor-v1 --out app.canopy'],
  }),
  manifest: verb({
    name: 'ota manifest',
    forms: ["--image APP.bin (pack's manifest flags) --out MANIFEST.cbor"],
    summary: 'Writes only the manifest: the bytes to sign off the build machine (then ota sign, ota attach).',
    flags: manifestFlags,
    examples: ['ota manifest --image build/app.bin --seq 7 --vendor canopy --class sensor-v1 --out m.cbor'],
  }),
  sign: verb({
    name: 'ota sign',
    summary: 'Signs a manifest: a detached COSE_Sign1.',
    flags: {
      manifest: { type: 'string', value: 'MANIFEST.cbor', help: 'from ota manifest' },
      key: { type: 'string', value: 'KEY.pem', help: 'the signing key' },
      out: out('the signature'),
    },
    examples: ['ota sign --manifest m.cbor --key release.pem --out s1.cose'],
  }),
  attach: verb({
    name: 'ota attach',
    summary: 'Puts an image, its manifest and detached signatures together into a package.',
    flags: {
      image: { type: 'string', value: 'APP.bin', help: 'the image the manifest was made from' },
      manifest: { type: 'string', value: 'MANIFEST.cbor', help: 'from ota manifest' },
      sig: { type: 'string', multiple: true, value: 'SIG.cose', help: 'a signature from ota sign' },
      out: out('the package'),
    },
    examples: ['ota attach --image build/app.bin --manifest m.cbor --sig s1.cose --sig s2.cose --out app.canopy'],
  }),
  verify: verb({
    name: 'ota verify',
    forms: ['PKG --trust TRUST.json [--device DEVICE.json] [--json]'],
    summary: 'Checks a package as a device would; exit 0 only when valid, else the reason code.',
    args: { PKG: 'a Canopy OTA package' },
    flags: {
      trust: { type: 'string', value: 'TRUST.json', help: 'the trust store (ota pubkey)' },
      device: { type: 'string', value: 'DEVICE.json', help: 'also apply device policy: {"vendor","class","deviceId","installedSeq","partitionSize","chipId","chipRevision","secureVersion","now"}' },
      json: { type: 'boolean', help: 'the verdict as JSON (docs/cli-json.md)' },
    },
    examples: ['ota verify app.canopy --trust trust.json', 'ota verify app.canopy --trust trust.json --device device.json --json'],
  }),
  push: verb({
    name: 'ota push',
    forms: ['PKG --broker URL --device ID [--device ID ...] [flags]'],
    summary: 'Offers a package to devices over MQTT and serves the blocks they ask for, until each confirms, refuses or rolls back.',
    args: { PKG: 'a Canopy OTA package' },
    flags: {
      broker: { type: 'string', value: 'URL', help: 'the devices\' broker (mqtt:// or mqtts://)' },
      device: { type: 'string', multiple: true, value: 'ID', help: 'a device to update' },
      prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
      timeout: { type: 'string', value: 'S', help: 'give up on a device silent this long (default 60)' },
      'client-id': { type: 'string', value: 'ID', help: 'MQTT client id (default canopy-push-<random>)' },
      trust: { type: 'string', value: 'TRUST.json', help: 'check the signatures here first too (without it, only the devices do)' },
      json: { type: 'boolean', help: 'JSON lines (docs/cli-json.md)' },
      ...brokerFlags,
    },
    examples: [
      'ota push app.canopy --broker mqtt://broker:1883 --device dev-1 --trust trust.json',
      'ota push app.canopy --broker mqtts://broker.example --ca ca/ca.pem --cert people/tech-1.pem --key people/tech-1.key --device dev-1',
    ],
  }),
  rollout: verb({
    name: 'ota rollout',
    forms: ["PKG --broker URL --fleet a,b,c|@ids.json|'glob*' [flags]"],
    summary: 'A staged fleet update: a canary group (any device there that does not confirm halts it), then growing waves; halts (exit 3) past the failure threshold; exit 1 when a device did not confirm. A rerun resumes from PKG.rollout.json and stays halted unless --retry-failed or --override-halt.',
    args: { PKG: 'a Canopy OTA package' },
    flags: {
      broker: { type: 'string', value: 'URL', help: 'the fleet\'s broker' },
      fleet: { type: 'string', value: 'SELECTOR', help: "device ids: a,b,c, @file.json (a JSON array) or a glob such as 'dev-*' (found from retained statuses)" },
      canary: { type: 'string', value: 'N', help: 'devices in the canary group (default 1)' },
      growth: { type: 'string', value: 'F', help: 'each wave is F times the previous one (default 2)' },
      'halt-percent': { type: 'string', value: 'P', help: 'halt when more than P% of the devices tried failed (default 10)' },
      state: { type: 'string', value: 'FILE', help: 'progress file (default PKG.rollout.json)' },
      timeout: { type: 'string', value: 'S', help: 'per-device silence allowed (default 120)' },
      prefix: { type: 'string', value: 'P', help: 'topic prefix (default canopy)' },
      trust: { type: 'string', value: 'TRUST.json', help: 'check the signatures here first too' },
      'retry-failed': { type: 'boolean', help: 'push again, first, to the devices that did not confirm' },
      'override-halt': { type: 'boolean', help: 'carry on past an earlier halt with the devices not yet tried' },
      json: { type: 'boolean', help: 'JSON lines (docs/cli-json.md)' },
      ...brokerFlags,
    },
    examples: [
      "ota rollout app.canopy --broker mqtt://broker:1883 --fleet 'dev-*' --canary 2 --halt-percent 10",
      'ota rollout app.canopy --broker mqtts://broker.example --ca ca/ca.pem --cert people/tech-1.pem --key people/tech-1.key --fleet @fleet.json',
    ],
  }),
};
