import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import layers from './scripts/eslint-layers.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.gpu-pack/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly' },
      // Types from tsconfig.json (noUncheckedIndexedAccess on, so `xs[i]!` is a needed assertion).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A promise nobody awaits loses its error; `void p` marks a deliberate fire-and-forget.
      '@typescript-eslint/no-floating-promises': 'error',
      // Off: an async function without await is how a function that checks its input and throws
      // still answers with a rejected promise (BatchSampler.open, the CLI commands, fakes of async
      // interfaces in tests); dropping `async` would move those throws out of the promise.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript config and build scripts sit outside tsconfig.json, so there are no types
    // to check them with.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/ui/**/*.tsx', 'src/ui/**/*.ts'],
    ...reactHooks.configs.flat.recommended,
  },
  {
    // The package graph (scripts/eslint-layers.js): each layer imports only those below it, the UI
    // only the worker protocol and pure modules.
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    plugins: { layers },
    rules: { 'layers/allowed-imports': 'error' },
  },
  {
    // The engine never imports React or the UI's libraries.
    files: [
      'src/gpu/**',
      'src/autograd/**',
      'src/model/**',
      'src/optim/**',
      'src/data/**',
      'src/train/**',
      'src/tokenizer/**',
      'src/scaling/**',
      'src/cli/**',
      'src/util/**',
      'shaders/**',
    ],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['react', 'react-dom', 'react/*', 'zustand', 'recharts'] }],
    },
  },
  {
    // No GPU bindings in the page: the UI talks to the engine through the worker's messages only.
    files: ['src/ui/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['webgpu'] }],
    },
  },
  {
    files: ['tests/**'],
    rules: {
      // `expect(obj.fn)` and `vi.spyOn(obj, 'fn')` pass methods without calling them; vitest
      // never calls them unbound.
      '@typescript-eslint/unbound-method': 'off',
      // vitest's asymmetric matchers (`expect.any(Number)`, `expect.stringMatching(...)`) are
      // typed `any`, and the tokenizer.json fuzz and edit tests type documents `any` on purpose to
      // craft malformed ones; what a test reads from them its own assertions check.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
