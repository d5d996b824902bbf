import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  // The web app goes to dist/web so `vite build` never deletes the CLI bundle (dist/cli.mjs).
  build: { target: 'es2022', outDir: 'dist/web' },
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    // Dawn over SwiftShader is a CPU device: GPU tests are slow and share two cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
