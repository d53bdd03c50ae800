import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rebuilds dist/ (which the end-to-end tests run) when src/ is newer.
    globalSetup: ['test/support/build.ts'],
    // Hang guards, not speed limits: generous, so a busy machine never fails a test that would pass.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Surface leaked timers, sockets and handles instead of letting the run hang.
    teardownTimeout: 5_000,
  },
});
