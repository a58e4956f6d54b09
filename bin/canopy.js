#!/usr/bin/env node
// The CLI runs from dist/, compiled ahead of time (bin/dist.js), so a run pays node's start and
// the code of the one verb asked for. In a checkout whose sources changed since dist/ was built,
// it runs the TypeScript through tsx instead: an edit takes effect at once and stale code never
// runs (`npm run build` makes it fast again; `npm test` builds first).
import { distFresh } from './dist.js';

// A reader that goes away (`canopy sim --json | head`) ends the output; it is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

let main;
if (process.env.CANOPY_FROM_SOURCE !== '1' && distFresh()) {
  ({ main } = await import('../dist/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
