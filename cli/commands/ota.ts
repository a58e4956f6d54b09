// `canopy ota <verb>`: keys, packages and delivery. Every refusal that has an OTA reason exits with
// that reason's code (protocol/ota/reasons.ts), so scripts can branch on why.
import { chmodSync, closeSync, existsSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb, type FlagValues } from '../flags.ts';
import { errorLine, resultLine } from '../output.ts';
import { otaSpecs } from './ota-specs.ts';
import { decode } from '../../protocol/cbor/index.ts';
import { readCoseSign1, algName, type CoseSignature } from '../../protocol/ota/cose.ts';
import { decodeManifest } from '../../protocol/ota/manifest.ts';
import { toHex } from '../../protocol/ota/package.ts';
import { verifyPackage, type DeviceContext } from '../../protocol/ota/policy.ts';
import { describeReason, OtaError, reasonCode } from '../../protocol/ota/reasons.ts';
import { parseTrustStore, trustedKey, trustStoreJson, type TrustedKey } from '../../protocol/ota/trust.ts';
import { encode } from '../../protocol/cbor/index.ts';
import { coseSign1 } from '../../protocol/ota/cose.ts';
import { sha256 } from '../../protocol/ota/sha256.ts';
import { generateKeyPem, readSigningKey, readVerifyingKey, signingKey, signManifest, spkiOf } from '../../ota/keys.ts';
import { readTrustStore, readUserFile, readUserJson } from '../../host/user-file.ts';
import { nodeHash, nodeVerifier } from '../../host/crypto.ts';
import { assembleParts, idBytes, manifestFor, type PackOptions } from '../../ota/pack.ts';
import { describe, toText } from '../../ota/inspect.ts';
import { defaultStatePath, lastSeq, recordSeq } from '../../ota/seq-state.ts';
import { fleetSeq } from '../../ota/fleet-seq.ts';
import { Topics } from '../../protocol/topics.ts';

/** A user file's bytes; `what` names it if it cannot be read (host/user-file.ts). */
const read = (path: string, what: string) => new Uint8Array(readUserFile(path, what));

function write(path: string, data: Uint8Array | string, mode?: number): void {
  if (mode === undefined) return writeFileSync(path, data);
  // A fresh file created with the mode, then renamed over: a private key is never readable by
  // others, not even for a moment while overwriting a looser file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  chmodSync(tmp, mode); // in case the umask narrowed it differently
  renameSync(tmp, path);
}

/** Pieces written one after the other into one file: a package without copying its image into a fresh buffer first. */
function writeParts(path: string, parts: Uint8Array[]): number {
  const fd = openSync(path, 'w');
  let total = 0;
  try {
    for (const part of parts) {
      for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, part.length - at);
      total += part.length;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

function need(v: string | undefined, flag: string): string {
  if (v === undefined) throw new UsageError(`--${flag} is required`);
  return v;
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return positionals[0];
}

export function parseExpiry(v: string, now = Date.now()): number {
  const rel = /^\+(\d+)([dhm])$/.exec(v);
  if (rel) return Math.floor(now / 1000) + Number(rel[1]) * { d: 86400, h: 3600, m: 60 }[rel[2] as 'd' | 'h' | 'm'];
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--expires must be an ISO date, epoch seconds or +Nd/+Nh/+Nm, got "${v}"`);
  return Math.floor(t / 1000);
}

type ManifestValues = FlagValues<typeof otaSpecs.manifest.flags>;

async function packOptions(v: ManifestValues): Promise<{ opts: PackOptions; stream: string; state: string }> {
  const vendor = need(v.vendor, 'vendor');
  const cls = need(v.class, 'class');
  const stream = `${toHex(idBytes(vendor))}/${toHex(idBytes(cls))}`;
  const state = v.state ?? defaultStatePath();
  const seqFlag = need(v.seq, 'seq');
  if (v.broker && seqFlag !== 'auto') throw new UsageError('--broker is only for --seq auto');
  const last = lastSeq(state, stream);
  let seq: number;
  if (seqFlag === 'auto') {
    // The fleet's retained OTA status is the truth every release machine shares; the state file
    // only adds packages packed here that no device has seen yet (docs/ota-cli-state.md).
    const fleet = v.broker ? await fleetSeq(v.broker, { topics: new Topics(v.prefix ?? 'canopy') }) : undefined;
    if (!fleet?.devices && last === 0) {
      throw new UsageError(
        fleet
          ? `--seq auto: no device under ${v.broker} has a retained OTA status and ${state} has no record for this vendor/class; give --seq N (above every installed seq)`
          : `--seq auto: ${state} has no record for this vendor/class (a fresh machine or CI runner?); give --seq N, or --broker URL to take it from the fleet's retained OTA status`,
      );
    }
    seq = Math.max(last, fleet?.max ?? 0) + 1;
  } else seq = intFlag('seq', seqFlag, 0, 1);
  if (seq <= last) {
    throw new UsageError(`--seq ${seq} is not above ${last}, the last sequence packed for this vendor/class (${state}); use --seq auto`);
  }
  return {
    stream,
    state,
    opts: {
      seq,
      vendor,
      class: cls,
      chunkSize: intFlag('chunk-size', v['chunk-size'], 4096, 0, 131072),
      devices: v.device,
      expires: v.expires === undefined ? undefined : parseExpiry(v.expires),
      minSeq: v['min-seq'] === undefined ? undefined : intFlag('min-seq', v['min-seq'], 0),
      info: v.info,
    },
  };
}

function readSignature(path: string): CoseSignature {
  const bytes = read(path, 'signature');
  return readCoseSign1(decode(bytes, { tags: [18] }), 0, (b) => decode(b));
}

function deviceFile(path: string): DeviceContext {
  const expected = 'a device description: {"vendor", "class", and optionally "installedSeq", "chipId", …}';
  const j = readUserJson(path, 'device file', expected) as Record<string, unknown>;
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error(`${path} is not a JSON object; expected ${expected}`);
  const num = (k: string, fallback?: number) => {
    const v = j[k] ?? fallback;
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v))) throw new UsageError(`${path}: ${k} must be an integer`);
    return v as number | undefined;
  };
  if (typeof j.vendor !== 'string' || typeof j.class !== 'string') throw new UsageError(`${path}: vendor and class are required`);
  return {
    vendor: idBytes(j.vendor),
    class: idBytes(j.class),
    deviceId: typeof j.deviceId === 'string' ? j.deviceId : undefined,
    installedSeq: num('installedSeq', 0) as number,
    now: num('now', Math.floor(Date.now() / 1000)),
    partitionSize: num('partitionSize', 0x1f0000) as number,
    chipId: num('chipId'),
    chipRevision: num('chipRevision'),
    secureVersion: num('secureVersion'),
  };
}

const verbs: Record<string, (args: string[]) => Promise<number>> = {
  async keygen(args) {
    const { values } = parse(otaSpecs.keygen, args);
    const out = need(values.out, 'out');
    const alg = values.alg ?? 'ES256';
    if (alg !== 'ES256' && alg !== 'EdDSA') throw new UsageError('--alg must be ES256 or EdDSA');
    if (existsSync(out) && !values.force) throw new UsageError(`${out} exists; a key is not overwritten without --force`);
    const pem = generateKeyPem(alg);
    write(out, pem, 0o600);
    const k = signingKey(pem);
    console.log(`kid ${toHex(k.kid)} (${alg}) written to ${out}${alg === 'EdDSA' ? '\nnote: devices verify ES256 only; EdDSA signatures count on hosts' : ''}`);
    return 0;
  },

  async pubkey(args) {
    const { values } = parse(otaSpecs.pubkey, args);
    const out = need(values.out, 'out');
    const keys: TrustedKey[] = [];
    const add = (path: string, role: 'release' | 'field') => keys.push(trustedKey(spkiOf(readVerifyingKey(path)), role));
    for (const p of values.key ?? []) add(p, 'release');
    for (const p of values['field-key'] ?? []) add(p, 'field');
    if (keys.length === 0) throw new UsageError('give at least one --key');
    const json = trustStoreJson(parseTrustStore(trustStoreJson({ threshold: intFlag('threshold', values.threshold, 1, 1, 4), keys })));
    write(out, JSON.stringify(json, null, 2) + '\n');
    const ts = values.ts ?? out.replace(/\.json$/, '') + '.ts';
    write(
      ts,
      `// Generated by \`canopy ota pubkey\`: the keys this device build trusts for OTA packages.\n` +
        `// Load with parseTrustStore(trustStore) from protocol/ota/trust.\n` +
        `export const trustStore = ${JSON.stringify(json, null, 2)} as const;\n\nexport default trustStore;\n`,
    );
    for (const k of json.keys) console.log(`${k.kid} ${k.alg} ${k.role}`);
    console.log(`trust store (threshold ${json.threshold}) written to ${out} and ${ts}`);
    return 0;
  },

  async inspect(args) {
    const { values, positionals } = parse(otaSpecs.inspect, args);
    const d = describe(read(one(positionals, 'FILE'), 'file'));
    console.log(values.json ? resultLine('ota inspect', { ...d }) : toText(d).trimStart());
    return 0;
  },

  async pack(args) {
    const { values } = parse(otaSpecs.pack, args);
    const out = need(values.out, 'out');
    if (!values.key?.length) throw new UsageError('--key is required');
    const keys = values.key.map(readSigningKey);
    const { opts, stream, state } = await packOptions(values);
    const image = read(need(values.image, 'image'), 'image');
    const u = manifestFor(image, opts);
    const length = writeParts(out, assembleParts(u.manifestBytes, keys.map((k) => signManifest(u.manifestBytes, k)), u.table, image));
    recordSeq(state, stream, opts.seq);
    console.log(`${out}: seq ${opts.seq}, ${u.manifest.project} ${u.manifest.appVersion}, ${length} bytes, ${keys.length} signature(s)`);
    return 0;
  },

  async manifest(args) {
    const { values } = parse(otaSpecs.manifest, args);
    const out = need(values.out, 'out');
    const { opts, stream, state } = await packOptions(values);
    const u = manifestFor(read(need(values.image, 'image'), 'image'), opts);
    write(out, u.manifestBytes);
    recordSeq(state, stream, opts.seq);
    console.log(`${out}: manifest for seq ${opts.seq}, ${u.manifestBytes.length} bytes to sign`);
    return 0;
  },

  async sign(args) {
    const { values } = parse(otaSpecs.sign, args);
    const bytes = read(need(values.manifest, 'manifest'), 'manifest');
    decodeManifest(bytes); // never sign what a device would refuse to read
    const k = readSigningKey(need(values.key, 'key'));
    write(need(values.out, 'out'), encode(coseSign1(signManifest(bytes, k))));
    console.log(`signed by kid ${toHex(k.kid)} (${algName(k.alg)})`);
    return 0;
  },

  async attach(args) {
    const { values } = parse(otaSpecs.attach, args);
    const bytes = read(need(values.manifest, 'manifest'), 'manifest');
    const m = decodeManifest(bytes);
    const image = read(need(values.image, 'image'), 'image');
    if (!values.sig?.length) throw new UsageError('--sig is required');
    const sigs = values.sig.map(readSignature);
    if (image.length !== m.size || toHex(sha256(image)) !== toHex(m.sha256)) {
      throw new OtaError('digest', 'this image is not the one the manifest was made from');
    }
    const { table } = manifestFor(image, { seq: m.seq, vendor: toHex(m.vendor), class: toHex(m.class), chunkSize: m.chunkSize ?? 0 });
    const length = writeParts(need(values.out, 'out'), assembleParts(bytes, sigs, table, image));
    console.log(`${values.out}: ${sigs.length} signature(s) attached, ${length} bytes (run \`canopy ota verify\` next)`);
    return 0;
  },

  async verify(args) {
    const { values, positionals } = parse(otaSpecs.verify, args);
    const trust = readTrustStore(need(values.trust, 'trust'));
    const device = values.device ? deviceFile(values.device) : undefined;
    try {
      const v = verifyPackage(read(one(positionals, 'PKG'), 'package'), trust, nodeVerifier, device, nodeHash);
      const signers = v.signers.map((k) => `${toHex(k.kid)} (${k.role})`);
      if (values.json) console.log(resultLine('ota verify', { valid: true, seq: v.manifest.seq, signers, policyChecked: device !== undefined }));
      else console.log(`valid: seq ${v.manifest.seq}, ${v.manifest.project} ${v.manifest.appVersion}, signed by ${signers.join(', ')}${device ? '' : ' (no --device: policy not checked)'}`);
      return 0;
    } catch (e) {
      if (!(e instanceof OtaError)) throw e;
      if (values.json) console.log(errorLine('ota verify', { reason: e.reason, code: e.code, message: `${e.detail}; ${describeReason(e.reason)}` }));
      else console.error(`invalid (${e.reason}, exit ${e.code}): ${e.detail}\n  ${describeReason(e.reason)}`);
      return e.code;
    }
  },

  async push(args) {
    return (await import('./ota-push.ts')).pushCommand(args);
  },

  async rollout(args) {
    return (await import('./ota-rollout.ts')).rolloutCommand(args);
  },
};

const spec = verb({
  name: 'ota',
  forms: ['<verb> [flags]'],
  description: [
    'Keys, packages and delivery. Every refusal that has an OTA reason exits with that reason\'s code',
    '(protocol/ota/reasons.ts), so scripts can branch on why.',
    '',
    'Verbs:',
    ...Object.entries(otaSpecs).map(([name, v]) => `  ${name.padEnd(10)} ${v.summary}`),
    '',
    'Run `npx canopy ota <verb> --help` for its flags and examples.',
  ].join('\n'),
  flags: {},
  examples: ['ota keygen --out release.pem', 'ota push --help'],
});

const command: Command = {
  spec,
  subverbs: otaSpecs,
  async run(args) {
    const [name, ...rest] = args;
    const run = name !== undefined && Object.hasOwn(verbs, name) ? verbs[name] : undefined;
    if (!run) throw new UsageError(name ? `unknown verb "${name}" (verbs: ${Object.keys(verbs).join(', ')})` : `give a verb: ${Object.keys(verbs).join(', ')}`);
    try {
      return await run(rest);
    } catch (e) {
      if (!(e instanceof OtaError)) throw e;
      if (rest.includes('--json')) console.log(errorLine(`ota ${name}`, { reason: e.reason, code: e.code, message: `${e.detail}; ${describeReason(e.reason)}` }));
      else console.error(`canopy ota ${name}: ${e.reason} (exit ${reasonCode(e.reason)}): ${e.detail}`);
      return e.code;
    }
  },
};

export default command;
