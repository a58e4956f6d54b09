// Runs a pure-TS function of the repository on the real XS engine (@agoric/xsnap) and returns its
// JSON result, for tests that compare what XS computes with what V8 computes.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildXsBundle } from '../../host/xs/bundle.ts';
import { XsWorker } from '../../host/xs/worker.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** `modulePath` is relative to the repository root; `exportName` names a function of no arguments. */
export async function runOnXs(modulePath: string, exportName: string): Promise<unknown> {
  const bundle = await buildXsBundle({
    resolveDir: root,
    source: `
      import { ${exportName} } from './${modulePath}';
      import { utf8Encode } from './protocol/utf8.ts';
      globalThis.handleCommand = () => utf8Encode(JSON.stringify(${exportName}())).buffer;
    `,
  });
  const w = new XsWorker({ name: exportName });
  try {
    await w.evaluate(bundle.code);
    const reply = await w.issueCommand(new Uint8Array([0]));
    return JSON.parse(new TextDecoder().decode(reply.bytes));
  } finally {
    await w.close();
  }
}
