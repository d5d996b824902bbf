import { configDefaults, defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

/** Test files that share one Dawn device per worker process (see `projects` below). */
const SHARED_DEVICE_TESTS = [
  'tests/model.test.ts',
  'tests/attention.test.ts',
  'tests/attention-f16.test.ts',
  'tests/matmul.test.ts',
  'tests/matmul-f16.test.ts',
  'tests/trainer.test.ts',
  'tests/gpu-estimate.test.ts',
  'tests/profiler.test.ts',
  'tests/cli-train.test.ts',
  'tests/run-transfer.test.ts',
  'tests/lab-worker-speed.test.ts',
  'tests/loss-scale.test.ts',
  'tests/eval-windows.test.ts',
  'tests/norm-gelu-f16.test.ts',
  'tests/mixed-precision.test.ts',
];

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  // The web app goes to dist/web so `vite build` never deletes the CLI bundle (dist/cli.mjs).
  build: { target: 'es2022', outDir: 'dist/web' },
  test: {
    // Dawn over SwiftShader is a CPU device: GPU tests are slow and share two cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      // Node tests that train on the shared test device (tests/helpers/gpu.ts) run in worker processes
      // kept between files: the device's compiled kernels (most of a tiny run's time on SwiftShader)
      // then serve every later file in that worker. They come first (projects sort by name), so the
      // long files start early and the quick ones fill the end. Files here must not destroy that
      // device or leave global state another file reads.
      { extends: true, test: { name: 'gpu-shared', include: SHARED_DEVICE_TESTS, isolate: false } },
      {
        extends: true,
        test: {
          name: 'isolated',
          include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
          exclude: [...configDefaults.exclude, ...SHARED_DEVICE_TESTS],
        },
      },
    ],
  },
});
