// ESLint for the whole project (run by `npm run lint` and .ci/run): typescript-eslint's recommended
// rules, plus the few that catch real bugs in async server code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      '.stryker-tmp/**',
      'reports/**',
      'dist/**',
      'node_modules/**',
      'docs/examples/**',
      'bench/out/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'max-len': ['error', { code: 120, ignorePattern: 'Stryker disable|https?://', ignoreUrls: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
      'no-control-regex': 'off',
      eqeqeq: ['error', 'always'],
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    // generated from the registry's schemas (test/clients/client-types.ts): one member per line
    files: ['system/client-interfaces.ts'],
    rules: { 'max-len': 'off' },
  },
  {
    // the scripts of .ci/ run on Node
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // tests and benchmarks handle untyped JSON from the wire; their long lines are message strings
    files: ['test/**/*.ts', 'bench/**/*.ts', 'docs/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      'max-len': [
        'error',
        { code: 120, ignorePattern: 'Stryker disable|https?://', ignoreStrings: true, ignoreTemplateLiterals: true },
      ],
    },
  },
);
