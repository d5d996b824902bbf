import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // Layering: the engine never imports React or the UI.
    files: ['src/gpu/**', 'src/autograd/**', 'src/model/**', 'src/optim/**', 'src/data/**', 'src/train/**', 'src/tokenizer/**', 'src/scaling/**', 'src/cli/**', 'shaders/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['react', 'react-dom', 'react/*', 'zustand', 'recharts', '**/ui/**'] }],
    },
  },
  {
    // The UI talks to the engine through the worker's messages only.
    files: ['src/ui/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/gpu/**', '**/autograd/**', 'webgpu'] }],
    },
  },
);
