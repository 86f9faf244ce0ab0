// `npm run lint` (with `prettier --check`): the rules a reviewer would otherwise have to remember.
// src/ is checked with TypeScript's types, for the bugs an async daemon has: a promise nobody
// awaits or catches (no-floating-promises), one passed where a callback's result is ignored
// (no-misused-promises). The JavaScript of the tests, the bench and the scripts gets the
// recommended rules.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** A name that starts with _ is unused on purpose; so is what a rest pattern leaves out. */
const UNUSED = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true };

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-output/'] },
  {
    rules: {
      'no-empty': ['error', { allowEmptyCatch: true }],
      // A variable a closure reads before its one assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // The tests feed control characters to the agent and look for them on purpose.
      'no-control-regex': 'off',
      'no-unused-vars': ['error', UNUSED],
    },
  },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', UNUSED],
      // Re-throwing what was caught, whatever it is, is fine.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // An async method that implements a promise-returning interface needs no await.
      '@typescript-eslint/require-await': 'off',
      // Only src/os/packageFiles.ts knows where the module is: the bundles define import.meta.dirname.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MetaProperty',
          message: 'where our files are is src/os/packageFiles.ts’s business',
        },
      ],
    },
  },
  {
    files: ['src/os/packageFiles.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
