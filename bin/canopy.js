#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the same sources serve device builds and the host.
import { register } from 'tsx/esm/api';

// A reader that goes away (`canopy sim --json | head`) ends the output; it is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
