// The proof that protocol/ runs on XS, not only on V8: the same scripted exchange, bundled for
// the real XS engine (@agoric/xsnap) and run in Node, gives the same transcript.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildXsBundle } from '../host/xs/bundle.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { protocolScript } from './support/protocol-script.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('protocol core on XS', () => {
  it('produces the same bytes and events as on Node', async () => {
    const bundle = await buildXsBundle({
      resolveDir: root,
      source: `
        import { protocolScript } from './test/support/protocol-script.ts';
        import { utf8Encode } from './protocol/utf8.ts';
        globalThis.handleCommand = () => utf8Encode(JSON.stringify(protocolScript())).buffer;
      `,
    });
    const node = protocolScript();
    expect(node.writes[0].startsWith('10')).toBe(true);
    expect(node.events).toContain('{"type":"subscribe-failed","filter":"denied/#","requestedQos":1}');
    expect(node.events.filter((e) => e.includes('"type":"message"'))).toHaveLength(1);
    const w = new XsWorker({ name: 'protocol' });
    try {
      await w.evaluate(bundle.code);
      const reply = await w.issueCommand(new Uint8Array([0]));
      const xs = JSON.parse(new TextDecoder().decode(reply.bytes));
      expect(xs).toEqual(node);
    } finally {
      await w.close();
    }
  });
});
