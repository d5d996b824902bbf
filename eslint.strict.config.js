// The stricter lint, prepared beside eslint.config.js until the whole tree passes it
// (`npx eslint -c eslint.strict.config.js . --max-warnings 0`): the repository's rules plus the
// type-checked ones and the react-hooks rules.
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import base from './eslint.config.js';

export default tseslint.config(
  ...base,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Types from tsconfig.strict.json, not tsconfig.json (which projectService would pick): with
      // noUncheckedIndexedAccess off, no-unnecessary-type-assertion would call every `xs[i]!`
      // unnecessary and --fix would strip the assertions that the stricter types need. Once
      // tsconfig.json carries the flag this becomes `projectService: true`.
      parserOptions: { project: './tsconfig.strict.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
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
