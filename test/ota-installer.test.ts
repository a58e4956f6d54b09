import { describe, expect, it } from 'vitest';
import { buildChunkTable } from '../protocol/ota/chunks.ts';
import { OtaInstaller, type InstallerOptions } from '../protocol/ota/installer.ts';
import { encodeManifest, type Manifest } from '../protocol/ota/manifest.ts';
import { buildPackage, parsePackage, type PackageParts } from '../protocol/ota/package.ts';
import { pureVerifier } from '../protocol/ota/verifier.ts';
import { signManifest, type SigningKey } from '../ota/keys.ts';
import { nodeHash, nodeVerifier } from '../host/crypto.ts';
import { assemble, manifestFor, pack } from '../ota/pack.ts';
import { MemoryRecordStore, VirtualFlash } from '../sim/virtual-flash.ts';
import { deviceContext, field, loadFixture, packOptions, reasonOf, release, stranger, trust } from './ota-support.ts';

const image = loadFixture('esp32');
const u = manifestFor(image, packOptions);
const parts = (pkg: Uint8Array) => parsePackage(pkg);
const good = parts(pack(image, [release], packOptions));
const cs = u.manifest.chunkSize as number;
const blocks = Math.ceil(image.length / cs);
const { installedSeq: _s, now: _n, partitionSize: _p, ...identity } = deviceContext();
const NOW = 1_800_000_000;

function signed(over: Partial<Manifest>, keys: SigningKey[] = [release], payload = image): PackageParts {
  const bytes = encodeManifest({ ...u.manifest, ...over });
  return parts(assemble(bytes, keys.map((k) => signManifest(bytes, k)), u.table, payload));
}

class Device {
  flash: VirtualFlash;
  store = new MemoryRecordStore();
  installer!: OtaInstaller;
  constructor(over: Partial<InstallerOptions> = {}, flash = new VirtualFlash()) {
    this.flash = flash;
    this.start(over);
  }
  start(over: Partial<InstallerOptions> = {}) {
    this.installer = new OtaInstaller({ flash: this.flash, store: this.store, trust, verifier: pureVerifier, device: identity, ...over });
    return this.installer.boot();
  }
  /** Power cycle: the bootloader runs, then a fresh installer reads the record. */
  reboot() {
    this.flash.reboot();
    return this.start();
  }
  offer(p: PackageParts = good) {
    return this.installer.offer(p.envelopeBytes, p.table, NOW);
  }
  send(i: number, payload: Uint8Array = image) {
    return this.installer.writeBlock(i, payload.subarray(i * cs, (i + 1) * cs));
  }
}

function installAll(d: Device, p: PackageParts = good) {
  d.offer(p);
  for (let i = 0; i < blocks; i++) d.send(i, p.payload);
  d.installer.finish();
}

describe('installer: nothing touches flash before the package is trusted and allowed', () => {
  const bad: [string, () => PackageParts, string][] = [
    ['unknown key', () => parts(pack(image, [stranger], packOptions)), 'signature'],
    ['flipped signature', () => {
      const p = parts(pack(image, [release], packOptions));
      const env = p.envelopeBytes.slice();
      env[env.length - 3] ^= 1;
      return { ...p, envelopeBytes: env };
    }, 'signature'],
    ['wrong class', () => parts(pack(image, [release], { ...packOptions, class: 'other' })), 'class'],
    ['not this device', () => signed({ devices: ['dev-9'] }), 'target'],
    ['older sequence', () => signed({ seq: 3 }), 'rollback'],
    ['prerequisite', () => signed({ minSeq: 5 }), 'prerequisite'],
    ['expired', () => signed({ expires: NOW - 1 }), 'expired'],
    ['too big', () => signed({ size: 0x200000 }), 'size'],
    ['other chip', () => signed({ chipId: 5 }), 'esp-mismatch'],
    ['field key, no expiry', () => signed({ devices: ['dev-1'] }, [field]), 'target'],
    ['swapped chunk table', () => {
      const t = good.table.slice();
      t.set(good.table.subarray(0, 32), 32);
      return { ...good, table: t };
    }, 'chunk'],
  ];
  for (const [name, make, reason] of bad) {
    it(`${name} → ${reason}, flash untouched`, () => {
      const d = new Device({ verifier: nodeVerifier });
      d.store.save('state', new Uint8Array([0xa3, 0x01, 0x04, 0x02, 0x80, 0x03, 0x00])); // installed seq 4
      d.start({ verifier: nodeVerifier });
      const p = make();
      expect(reasonOf(() => d.installer.offer(p.envelopeBytes, p.table, NOW))).toBe(reason);
      expect([d.flash.erases, d.flash.writes]).toEqual([0, 0]);
      expect(d.installer.state).toBe('idle');
    });
  }

  it('a bad block is refused before it is written', () => {
    const d = new Device();
    d.offer();
    const block = image.slice(cs, 2 * cs);
    block[7] ^= 1;
    expect(reasonOf(() => d.installer.writeBlock(1, block))).toBe('chunk');
    expect(reasonOf(() => d.installer.writeBlock(blocks, block))).toBe('chunk');
    expect(reasonOf(() => d.installer.writeBlock(1, block.subarray(1)))).toBe('chunk');
    expect(d.flash.writes).toBe(0);
  });
});

describe('installer: install, self-test and confirm', () => {
  it('installs a real image from shuffled and duplicated blocks, boots it pending-verify, confirms', () => {
    const d = new Device();
    const t = d.offer();
    expect(t.blocks).toBe(blocks);
    const order = [...Array(blocks).keys()].reverse();
    for (const i of order) d.send(i);
    d.send(3);
    expect(d.flash.writes).toBe(blocks); // the duplicate was not rewritten
    d.installer.finish();
    expect(d.reboot()).toEqual({ kind: 'self-test', seq: 5 });
    expect(d.installer.state).toBe('pending-verify');
    expect(d.installer.installedSeq).toBe(0); // not before the self-test
    expect(reasonOf(() => d.offer(signed({ seq: 6 })))).toBe('busy');
    expect(d.installer.confirm()).toBe(5);
    expect(d.flash.runningState()).toBe('valid');
    expect(d.flash.runningImage(image.length)).toEqual(image);
    expect(d.reboot()).toEqual({ kind: 'idle', installedSeq: 5 });
    expect(reasonOf(() => d.offer())).toBe('rollback');
  });

  it('all three fixture chips install in the simulator flash', () => {
    for (const chip of ['esp32-c3', 'esp32-s3']) {
      const img = loadFixture(chip);
      const p = parts(pack(img, [release], packOptions));
      const chipId = manifestFor(img, packOptions).manifest.chipId;
      const d = new Device({ device: { ...identity, chipId, chipRevision: undefined } });
      d.offer(p);
      for (let i = 0; i < Math.ceil(img.length / cs); i++) d.installer.writeBlock(i, img.subarray(i * cs, (i + 1) * cs));
      d.installer.finish();
      d.reboot();
      d.installer.confirm();
      expect(d.flash.runningImage(img.length)).toEqual(img);
    }
  });

  it('a package without a chunk table is checked whole before the switch', () => {
    const nt = manifestFor(image, { ...packOptions, chunkSize: 0 });
    const flipped = image.slice();
    flipped[5000] ^= 1;
    const p = parts(assemble(nt.manifestBytes, [signManifest(nt.manifestBytes, release)], nt.table, flipped));
    const d = new Device();
    d.offer(p);
    for (let i = 0; i < blocks; i++) d.send(i, flipped);
    expect(reasonOf(() => d.installer.finish())).toBe('digest');
    expect(d.installer.state).toBe('idle');
    expect(d.flash.states[1]).toBe('empty'); // never switched
  });
});

describe('installer: power loss, faults and rollback', () => {
  for (const [name, cut] of [['inside a chunk', 7 * cs + cs / 2], ['at a chunk boundary', 7 * cs]] as const) {
    it(`resumes after power loss ${name}, re-fetching no completed chunk`, () => {
      const d = new Device();
      d.offer();
      d.flash.powerFailAfter = cut;
      let i = 0;
      expect(
        reasonOf(() => {
          for (; i < blocks; i++) d.send(i);
        }),
      ).toBe('flash');
      expect(i).toBe(7);
      expect(d.reboot()).toEqual({ kind: 'resume', seq: 5, missing: blocks - 7 });
      expect(d.installer.missing()[0]).toBe(7);
      const erases = d.flash.erases;
      d.offer(); // the same package offered again resumes, it does not erase
      expect(d.flash.erases).toBe(erases);
      for (const j of d.installer.missing()) d.send(j);
      d.installer.finish();
      expect(d.reboot().kind).toBe('self-test');
      d.installer.confirm();
      expect(d.flash.runningImage(image.length)).toEqual(image);
    });
  }

  it('power loss between the switch and the reboot still boots the new image for its self-test', () => {
    const d = new Device();
    installAll(d);
    expect(d.reboot()).toEqual({ kind: 'self-test', seq: 5 });
  });

  it('a read-back mismatch is a flash failure and abandons the transfer', () => {
    const d = new Device();
    d.offer();
    d.send(0);
    d.flash.corruptNextWrite = true;
    expect(reasonOf(() => d.send(1))).toBe('flash');
    expect(d.installer.state).toBe('idle');
  });

  it('an image that never confirms rolls back on the next reset; its replay is refused', () => {
    const d = new Device();
    installAll(d);
    expect(d.reboot().kind).toBe('self-test');
    expect(d.reboot()).toEqual({ kind: 'rolled-back', seq: 5, attempts: 1 });
    expect(d.flash.running).toBe(0);
    expect(d.installer.installedSeq).toBe(0);
    const writes = d.flash.writes;
    expect(reasonOf(() => d.offer())).toBe('rollback');
    expect(d.flash.writes).toBe(writes);
    d.offer(signed({ seq: 6 })); // a fixed build with a new sequence is welcome
  });

  it('a failed self-test rolls back at once and is recorded', () => {
    const d = new Device({ maxAttempts: 2 });
    installAll(d);
    d.reboot();
    expect(d.installer.reject()).toBe(5);
    d.flash.reboot();
    expect(d.start({ maxAttempts: 2 })).toEqual({ kind: 'idle', installedSeq: 0 });
    expect(d.flash.states[1]).toBe('invalid');
    // maxAttempts 2: one more try is allowed, then never again.
    installAll(d);
    d.reboot();
    d.installer.reject();
    d.flash.reboot();
    d.start({ maxAttempts: 2 });
    expect(reasonOf(() => d.offer())).toBe('rollback');
  });

  it('a newer package replaces a stalled transfer, an older one is busy', () => {
    const d = new Device();
    d.offer(signed({ seq: 6 }));
    d.send(0);
    expect(reasonOf(() => d.offer())).toBe('busy');
    d.offer(signed({ seq: 7 }));
    expect(d.installer.transfer?.manifest.seq).toBe(7);
    expect(d.installer.missing().length).toBe(blocks);
  });
});

// Keep the framing import honest: installer tests use the same package bytes the CLI writes.
it('package parts round-trip', () => {
  expect(buildPackage(good.envelopeBytes, good.table, good.payload).length).toBe(good.payload.length + good.layout.payloadOffset);
  expect(buildChunkTable(image, cs)).toEqual(good.table);
});

describe('installer: the platform hash does every SHA-256 of the image', () => {
  it('chunks as they arrive, then the whole-image check (digest, chunks, ESP appended hash) all go through the injected factory', () => {
    let bytes = 0;
    const counted = () => {
      const h = nodeHash();
      return { update: (b: Uint8Array) => ((bytes += b.length), h.update(b)), digest: () => h.digest() };
    };
    const d = new Device({ hash: counted });
    installAll(d);
    expect(d.installer.state).toBe('receiving'); // switched, awaiting the reboot
    // Each block once on arrival; at finish the whole digest, the chunk digests and the ESP
    // image's appended hash each read the image again: nothing is left to the pure-TS SHA-256.
    expect(bytes).toBeGreaterThanOrEqual(3.9 * image.length);
  });

  it('a factory that disagrees with SHA-256 refuses the package: the injected hash is the one that decides', () => {
    const wrong = () => ({ update: () => undefined, digest: () => new Uint8Array(32) });
    expect(reasonOf(() => new Device({ hash: wrong }).offer())).toBe('chunk');
  });
});
