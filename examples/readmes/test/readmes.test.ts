/**
 * Every capability package's README example, as a user would copy it: the
 * `## Example` block is extracted, type-checked against the packages' types
 * and run with Node (loopback only, bounded), and its output is checked.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WORKSPACE_ROOT, assertFreshBuild } from '@natkit/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NoReadmeExampleError, extractExample } from '../src/index.js'

/** Bound on one README example's run. */
const RUN_TIMEOUT_MS = 30_000
/** Bound on type-checking all examples. */
const TSC_TIMEOUT_MS = 120_000

const HERE = fileURLToPath(new URL('..', import.meta.url))

/** Package → what its example must print (each check fails when the feature is missing). */
const CASES: Record<string, (out: string) => void> = {
  holepunch: (out) => {
    expect(out).toMatch(/^relayed: \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+\/p2p-circuit\/p2p\/\w+$/m)
    // a CONNECT/SYNC exchange (attempt ≥ 1), not B's unilateral dial, made a direct connection
    const m = /^direct: (\S+) \(attempt (\d+)\)$/m.exec(out)
    expect(m, out).not.toBeNull()
    expect(m?.[1]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    expect(m?.[1]).not.toContain('p2p-circuit')
    expect(Number(m?.[2])).toBeGreaterThanOrEqual(1)
  },
  'tcp-reuse': (out) => {
    const listen = /^A listens on \/ip4\/127\.0\.0\.1\/tcp\/(\d+)/m.exec(out)?.[1]
    const seen = /^B sees A at {2}\/ip4\/127\.0\.0\.1\/tcp\/(\d+)/m.exec(out)?.[1]
    expect(listen, out).toBeDefined()
    // the point of the transport: the outbound connection comes from the listen port
    expect(seen).toBe(listen)
  },
  stun: (out) => {
    const local = /^sent from +127\.0\.0\.1:(\d+)$/m.exec(out)?.[1]
    expect(local, out).toBeDefined()
    expect(out).toMatch(new RegExp(`^server saw 127\\.0\\.0\\.1:${local} \\(software natkit\\)$`, 'm'))
  },
  'nat-behavior': (out) => {
    // every RFC 5780 test ran against the alternate address, the connect back connected
    expect(out).toMatch(/^mapping none, filtering endpoint-independent, allocation preserving, inbound open, hairpin true$/m)
    expect(out).toMatch(/^observers: 7$/m)
  },
  'autonat-check': (out) => {
    // a stock server never dials private/loopback addresses: one `unknown` answer per address asked
    expect(out).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+ unknown: .+$/m)
  },
  shell: (out) => {
    // parsed, one-line errors, commands run in order, nothing after `quit`
    expect(out.trim().split('\n')).toEqual([
      '{"command":"say","topic":"chat","text":"hello  world"}',
      'say: say needs 2 arguments: say <topic> <text>',
      'run join',
      'error jion: unknown command "jion" (did you mean join?); type help',
      'run get',
      'run say',
      'exit 0'
    ])
  },
  identity: (out) => {
    expect(out).toMatch(/^created true, then false$/m)
    expect(out).toMatch(/^same peer id: true 12D3Koo\w+$/m)
    expect(out).toMatch(/^key file mode 600$/m)
  },
  events: (out) => {
    expect(out).toMatch(/^15:00:00\.000 reservation on relay \/ip4\/11\.…WRelay until 2025-11-24T16:00:00\.000Z$/m)
    expect(out).toMatch(/^not an event: natkit-peer starting$/m)
  }
}

describe('extractExample', () => {
  it('returns the first ts block under "## Example" and nothing else', () => {
    const md = '# x\n```ts\nno()\n```\n## Example\ntext\n```sh\nnpm i\n```\n```ts\nyes()\n```\n```ts\nsecond()\n```\n## Options\n'
    expect(extractExample(md)).toBe('yes()\n')
  })

  it('names what is missing', () => {
    expect(() => extractExample('# x\n', 'a/README.md')).toThrow(new NoReadmeExampleError('a/README.md has no "## Example" section'))
    expect(() => extractExample('## Example\n```sh\nx\n```\n## Next\n```ts\ny\n```\n', 'r')).toThrow(/no ```ts block/)
    expect(() => extractExample('## Example\n```ts\nx\n', 'r')).toThrow(/not closed/)
  })
})

describe('package README examples', () => {
  let dir: string
  beforeAll(() => {
    // inside this workspace, so the examples resolve its dependencies like a user's app would
    dir = mkdtempSync(join(HERE, '.readme-'))
    for (const pkg of Object.keys(CASES)) {
      const readme = join(WORKSPACE_ROOT, 'packages', pkg, 'README.md')
      writeFileSync(join(dir, `${pkg}.ts`), extractExample(readFileSync(readme, 'utf8'), readme))
    }
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: join(WORKSPACE_ROOT, 'tsconfig.base.json'),
      compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, sourceMap: false, noUnusedLocals: true },
      include: ['*.ts']
    }))
  })
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('type-check', () => {
    const r = spawnSync(process.execPath, [join(WORKSPACE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: TSC_TIMEOUT_MS })
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
  }, TSC_TIMEOUT_MS + 5_000)

  for (const [pkg, check] of Object.entries(CASES)) {
    it(`packages/${pkg}/README.md runs and prints what it says`, () => {
      // as a user's app runs them: the packages' built dist/, refused when older than their sources
      assertFreshBuild(join(HERE, 'package.json'))
      const r = spawnSync(process.execPath, ['--no-warnings', join(dir, `${pkg}.ts`)], { cwd: dir, encoding: 'utf8', timeout: RUN_TIMEOUT_MS })
      expect(r.error, r.stderr).toBeUndefined()
      expect(r.status, r.stderr).toBe(0)
      check(r.stdout)
    }, RUN_TIMEOUT_MS + 5_000)
  }
})
