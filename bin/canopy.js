#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the same sources serve device builds and the host.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
