// eslint (flat config): typescript-eslint with type information (projectService, via
// tsconfig.json), and Nx module boundaries from the nx tags in each package.json.
// `npm run lint` runs it with knip (dependency check).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import natkit from './tools/scripts/module-boundaries.mjs'

/**
 * Files allowed explicit `any` (issue 9): only the module that isolates libp2p internals
 * (pinned versions, canary test). Everything else types caught errors as `unknown`.
 */
const ANY_ALLOWED = [
  'packages/libp2p-internals/src/index.ts'
]


const TEST_FILES = ['**/*.test.ts', '**/test/**']

/** apps → packages, tools → packages and apps (the lab spawns the apps), packages → packages (nx tags in each package.json). */
const depConstraints = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:app', 'scope:tools'] },
  // examples/ (issue 9): a stock js-libp2p app using natkit's packages
  { sourceTag: 'scope:examples', onlyDependOnLibsWithTags: ['scope:shared'] }
]
/** Tests may also use the test kit; the examples' tests run them in the NAT lab (tools). */
const testDepConstraints = depConstraints.map(c => ({ ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testkit', ...(c.sourceTag === 'scope:examples' ? ['scope:tools'] : [])] }))

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/.test-results/**', 'reports/**', '.lab-runs/**', 'tools/interop/go/**', 'tools/interop/rust/**', '**/*.d.ts', 'packages/*/src/pb/*.ts', 'tools/*/src/pb/*.ts']
  },
  js.configs.recommended,
  {
    rules: {
      // `try { ... } catch {}`: deliberate best-effort cleanup (kill, unlink, parse of a foreign line)
      'no-empty': ['error', { allowEmptyCatch: true }]
    }
  },
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly' }
    }
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  {
    files: ANY_ALLOWED,
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  {
    files: ['**/*.{ts,js,mjs}'],
    plugins: { natkit },
    rules: { 'natkit/enforce-module-boundaries': ['error', { depConstraints }] }
  },
  {
    files: TEST_FILES,
    rules: { 'natkit/enforce-module-boundaries': ['error', { depConstraints: testDepConstraints }] }
  }
)
