import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // dist/ built from these sources first: the CLI subprocesses run it (bin/canopy.js).
    globalSetup: ['test/support/build-dist.ts'],
    include: ['test/**/*.test.ts'],
    // The real-SDK suite is opt-in: npm run test:moddable (vitest.moddable.config.ts).
    exclude: ['test/moddable/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start brokers on loopback ports; two workers match the CI machine.
    maxWorkers: 2,
  },
});
