import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'coverage/**', 'scripts/.*', 'packages/*/assembly/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.test-util.ts', '**/*.conformance.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A scheduler cannot afford a dropped promise.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@tessera/*/src/*', '@tessera/*/dist/*'], message: 'import packages by name only (exports map)' }] },
      ],
    },
  },
  // The package graph (README, Packages): each package imports only those below it.
  ...Object.entries({
    protocol: [],
    worker: ['protocol'],
    scheduler: ['protocol'],
    local: ['protocol', 'scheduler', 'worker'],
    client: ['protocol'],
    dashboard: ['protocol'],
  }).map(([pkg, allowed]) => ({
    files: [`packages/${pkg}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@tessera/*/src/*', '@tessera/*/dist/*'], message: 'import packages by name only (exports map)' },
            {
              group: ['@tessera/*', ...allowed.map((a) => `!@tessera/${a}`)],
              message: `@tessera/${pkg} may import only ${allowed.length ? allowed.map((a) => `@tessera/${a}`).join(', ') : 'no other package'} (README, Packages)`,
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', performance: 'readonly', URL: 'readonly' } },
  },
  {
    // The soak harness runs long in Node: timers, fetch and Buffer are its globals.
    files: ['soak/**/*.mjs'],
    languageOptions: {
      globals: {
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        AbortController: 'readonly',
        Buffer: 'readonly',
      },
    },
  },
  {
    files: ['**/*.test.ts', '**/*.test-util.ts', 'test/**/*.ts', '**/*.conformance.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-floating-promises': 'off' },
  },
);
