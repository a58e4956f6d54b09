#!/usr/bin/env node
// The CLI runs from dist/, compiled ahead of time (bin/dist.js), so a run pays node's start and
// the code of the one verb asked for. In a checkout whose sources changed since dist/ was built,
// it runs the TypeScript through tsx instead: an edit takes effect at once and stale code never
// runs (`npm run build` makes it fast again; `npm test` builds first).
import { existsSync } from 'node:fs';
import { distFresh } from './dist.js';

// A reader that goes away (`canopy sim --json | head`) ends the output; it is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

async function fromSource() {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    // An installed package has dist/ and no tsx (a devDependency): dist/ is all there is.
    if (existsSync(new URL('../dist/main.js', import.meta.url))) return import('../dist/main.js');
    console.error('canopy: dist/ is not built and tsx is not installed: run `npm run build` in the canopy checkout');
    process.exit(1);
  }
  tsx.register();
  return import('../cli/main.ts');
}

const { main } = process.env.CANOPY_FROM_SOURCE !== '1' && distFresh() ? await import('../dist/main.js') : await fromSource();
process.exitCode = await main(process.argv.slice(2));
