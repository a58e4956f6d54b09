// `canopy ota inspect`: what an ESP-IDF .bin or a Canopy package holds, as text or JSON. Inspecting
// does not authenticate: a package's manifest is shown as "unverified" (that is `verify`'s job).
import { parseEspImage, type EspImageInfo } from '../protocol/ota/esp-image.ts';
import { algName } from '../protocol/ota/cose.ts';
import { decodeManifest, type Manifest } from '../protocol/ota/manifest.ts';
import { PACKAGE_MAGIC, parsePackage, toHex } from '../protocol/ota/package.ts';

export function isPackage(b: Uint8Array): boolean {
  return b.length >= 4 && PACKAGE_MAGIC.every((m, i) => b[i] === m);
}

export function describeImage(info: EspImageInfo): Record<string, unknown> {
  const h = info.header;
  const d = info.appDescriptor;
  return {
    chip: h.chipName,
    chipId: h.chipId,
    chipRevision: `${fmtRev(h.minChipRevisionFull)}..${fmtRev(h.maxChipRevisionFull)}`,
    entry: '0x' + h.entryAddress.toString(16),
    flashSize: h.flashSizeBytes,
    segments: info.segments.map((s) => ({ index: s.index, loadAddress: '0x' + s.loadAddress.toString(16), length: s.length, offset: s.dataOffset })),
    checksum: '0x' + info.checksum.toString(16).padStart(2, '0'),
    appendedSha256: info.appendedSha256 ? toHex(info.appendedSha256) : null,
    length: info.totalLength,
    secureBootBlocks: info.signatureBlocks.map((b) => b.scheme),
    app: d
      ? { project: d.projectName, version: d.version, secureVersion: d.secureVersion, idf: d.idfVersion, built: `${d.date} ${d.time}`, elfSha256: toHex(d.appElfSha256) }
      : null,
  };
}

function fmtRev(r: number): string {
  return `v${Math.floor(r / 100)}.${r % 100}`;
}

export function describeManifest(m: Manifest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v instanceof Uint8Array ? toHex(v) : v;
  if (m.expires !== undefined) out.expiresIso = new Date(m.expires * 1000).toISOString();
  return out;
}

export function describe(bytes: Uint8Array): Record<string, unknown> {
  if (!isPackage(bytes)) return { kind: 'esp-image', image: describeImage(parseEspImage(bytes, { requireAppDescriptor: false })) };
  const p = parsePackage(bytes);
  return {
    kind: 'canopy-ota-package',
    layout: p.layout,
    size: bytes.length,
    manifest: { verified: false, ...describeManifest(decodeManifest(p.envelope.manifestBytes)) },
    signatures: p.envelope.signatures.map((s) => ({ alg: algName(s.alg), kid: toHex(s.kid) })),
    chunkTable: p.table.length ? { chunks: p.table.length / 32 } : null,
    image: describeImage(parseEspImage(p.payload)),
  };
}

/** Indented "key: value" lines for humans. */
export function toText(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object' || x === null)) return v.join(', ');
    return '\n' + v.map((x) => `${indent}- ${toText(x, indent + '  ').trimStart()}`).join('\n');
  }
  if (v && typeof v === 'object') {
    return (
      '\n' +
      Object.entries(v)
        .map(([k, x]) => `${indent}${k}: ${toText(x, indent + '  ')}`)
        .join('\n')
    );
  }
  return String(v);
}
