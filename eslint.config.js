import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './scripts/eslint-layers.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.gpu-pack/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
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
);
