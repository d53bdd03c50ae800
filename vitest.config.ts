import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 10_000,
    // Surface leaked timers, sockets and handles instead of letting the run hang.
    teardownTimeout: 5_000,
  },
});
