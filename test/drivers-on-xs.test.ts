// The drivers on the real XS engine (@agoric/xsnap), not only on V8: one run of every driver over
// the scripted IO, bundled for XS, must see exactly what it sees on Node.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildXsBundle } from '../host/xs/bundle.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { driverTranscript } from './support/scripted-io.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('drivers on XS', () => {
  it('give the same transcript as on Node', async () => {
    const bundle = await buildXsBundle({
      resolveDir: root,
      source: `
        import { driverTranscript } from './test/support/scripted-io.ts';
        import { utf8Encode } from './protocol/utf8.ts';
        globalThis.handleCommand = () => utf8Encode(JSON.stringify(driverTranscript())).buffer;
      `,
    });
    const node = driverTranscript();
    expect(node).toContain('dht22 datasheet: {"humidity":65.8,"temperature":26.9}');
    expect(node).toContain('dht22 -10.1: {"humidity":50,"temperature":-10.1}');
    expect(node.some((l) => l.startsWith('bh1750 absent: SensorError absent BH1750 did not acknowledge at 0x5C'))).toBe(true);
    const w = new XsWorker({ name: 'drivers' });
    try {
      await w.evaluate(bundle.code);
      const reply = await w.issueCommand(new Uint8Array([0]));
      expect(JSON.parse(new TextDecoder().decode(reply.bytes))).toEqual(node);
    } finally {
      await w.close();
    }
  });
});
