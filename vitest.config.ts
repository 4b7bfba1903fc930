import { defineConfig } from 'vitest/config';

/**
 * unit: fast, no builds. e2e: real builds of fixture modules and pinned
 * components. integration: a real dev daemon driven through dockerode.
 * moby: tools run over all of moby's source (npm run test:moby, not npm test).
 * Builds and daemons are heavy on 2 cores, so files run one at a time.
 */
export default defineConfig({
  test: {
    // Every project inherits it (extends: true): temp folders are removed after each file that passed.
    setupFiles: ['test/support/setup.ts'],
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 900_000, hookTimeout: 900_000, fileParallelism: false } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
      // test-integration --vm under QEMU's emulation (minutes a run): its own command, npm run test:vm, not part of npm test.
      {
        extends: true,
        test: {
          name: 'vm',
          include: ['test/vm/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
      // moby's whole tree linted (minutes a run): its own command, npm run test:moby, not part of npm test.
      { extends: true, test: { name: 'moby', include: ['test/moby/**/*.test.ts'], testTimeout: 3_600_000, fileParallelism: false } },
    ],
  },
});
