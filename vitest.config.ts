import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // 'ferrograd' (as the examples import it) is the source here, not a possibly stale dist/;
  // tsconfig.json "paths" says the same to tsc and tsx.
  resolve: { alias: [{ find: /^ferrograd$/, replacement: fileURLToPath(new URL('./index.ts', import.meta.url)) }] },
  test: {
    include: ['__test__/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
