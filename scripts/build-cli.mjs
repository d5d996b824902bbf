#!/usr/bin/env node
/**
 * Bundles the Node CLI (src/cli/main.ts) into dist/cli.mjs with esbuild.
 * tsx cannot load Vite's `?raw` imports, so the CLI runs from this bundle; WGSL files are inlined
 * as strings. `webgpu` (Dawn, a native addon) stays external and is loaded from node_modules.
 *
 * Usage: node scripts/build-cli.mjs [entry.ts] [outfile.mjs]   (defaults: src/cli/main.ts dist/cli.mjs)
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = resolve(root, process.argv[2] ?? 'src/cli/main.ts');
const outfile = resolve(root, process.argv[3] ?? 'dist/cli.mjs');

/** `import src from './x.wgsl?raw'` -> the file's text, resolved relative to the importing file. */
const rawPlugin = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)),
      namespace: 'raw-text',
    }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
      watchFiles: [args.path],
    }));
  },
};

// ESM output has no require/__dirname; bundled CommonJS dependencies may still want them.
const banner = [
  "import { createRequire as __ggCreateRequire } from 'node:module';",
  "import { fileURLToPath as __ggFileURLToPath } from 'node:url';",
  "import { dirname as __ggDirname } from 'node:path';",
  'const require = __ggCreateRequire(import.meta.url);',
  'const __filename = __ggFileURLToPath(import.meta.url);',
  'const __dirname = __ggDirname(__filename);',
].join('\n');

try {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    plugins: [rawPlugin],
    banner: { js: banner },
    sourcemap: 'linked',
    logLevel: 'warning',
  });
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}
