import { defineConfig } from 'vitest/config';

// `npm run test:moddable`: the opt-in suite on the real Moddable SDK (needs MODDABLE; it fails,
// never skips, without it). One file at a time: each build takes both cores for minutes.
export default defineConfig({
  test: {
    // dist/ built from these sources first: the CLI subprocesses run it (bin/canopy.js).
    globalSetup: ['test/support/build-dist.ts'],
    include: ['test/moddable/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
  },
});
