/**
 * Issue 11, attack 8: hostile config values. Every value is size-checked
 * before it is parsed and every parser is linear, so a 1 MiB value (from a
 * flag, an env var or the config file) is refused in well under 50 ms with a
 * one-line error naming the field and the source.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ConfigError,
  ConfigFileError,
  MAX_CONFIG_FILE_SIZE,
  MAX_LIST_ITEMS,
  MAX_OPTION_VALUE_LENGTH,
  defineRole,
  parseBytes,
  parseDuration,
  parseHostPort,
  parseInteger,
  resolveOptions,
  spec
} from './index.js'
import type { CommonOptions, ConfigSources } from './index.js'

/** The bound this attack's fix must meet (issue 11, attack 8). */
const BOUND_MS = 50
const MIB = 1024 * 1024

interface HostileOptions extends CommonOptions {
  role: 'peer'
  wait: number
  size: number
  count: number
}

const ROLE = defineRole<HostileOptions>({
  name: 'peer',
  listen: ['/ip4/127.0.0.1/tcp/0'],
  specs: [
    spec('wait', 'duration', 1000, 'a wait', { min: 1 }),
    spec('size', 'bytes', 1024, 'a size', { min: 1 }),
    spec('count', 'int', 3, 'a count', { min: 1 })
  ]
})

/**
 * Values of ~1 MiB shaped to make a backtracking parser work hardest: a
 * number, a run of blanks between number and unit, then a character that
 * fails the match only at the very end.
 */
function pathological (length: number): string {
  return '1' + ' '.repeat(length - 2) + '!'
}

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'natkit-hostile-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

/** Runs `resolveOptions` and returns its error and how long it took. */
function rejectTimed (sources: ConfigSources): { err: ConfigError, ms: number } {
  const t0 = performance.now()
  try {
    resolveOptions(ROLE, sources)
  } catch (err) {
    const ms = performance.now() - t0
    expect(err).toBeInstanceOf(ConfigError)
    return { err: err as ConfigError, ms }
  }
  throw new Error('expected resolveOptions to throw')
}

describe('a 1 MiB value is refused quickly, before it is parsed', () => {
  // warm the code paths so the bound measures the algorithm, not the JIT
  beforeEach(() => {
    try { resolveOptions(ROLE, { flags: { wait: 'x'.repeat(MAX_OPTION_VALUE_LENGTH + 1) } }) } catch {}
  })

  const cases: Array<[string, string, string, (value: string) => ConfigSources, RegExp]> = [
    ['duration flag', 'wait', 'flag', v => ({ flags: { wait: v } }), /^invalid value for --wait \(flag\): /],
    ['duration env', 'wait', 'env', v => ({ env: { NATKIT_WAIT: v } }), /^invalid value for NATKIT_WAIT \(env\): /],
    ['bytes flag', 'size', 'flag', v => ({ flags: { size: v } }), /^invalid value for --size \(flag\): /],
    ['bytes env', 'size', 'env', v => ({ env: { NATKIT_SIZE: v } }), /^invalid value for NATKIT_SIZE \(env\): /],
    ['int env', 'count', 'env', v => ({ env: { NATKIT_COUNT: v } }), /^invalid value for NATKIT_COUNT \(env\): /],
    ['multiaddr list flag', 'listen', 'flag', v => ({ flags: { listen: v } }), /^invalid value for --listen \(flag\): /],
    ['multiaddr list env', 'listen', 'env', v => ({ env: { NATKIT_LISTEN: v } }), /^invalid value for NATKIT_LISTEN \(env\): /],
    ['host:port env', 'metrics', 'env', v => ({ env: { NATKIT_METRICS: v } }), /^invalid value for NATKIT_METRICS \(env\): /],
    ['path flag', 'identity', 'flag', v => ({ flags: { identity: v } }), /^invalid value for --identity \(flag\): /]
  ]

  it.each(cases)('%s', (_name, field, source, sources, prefix) => {
    const { err, ms } = rejectTimed(sources(pathological(MIB)))
    expect(ms).toBeLessThan(BOUND_MS)
    expect(err.field).toBe(field)
    expect(err.source).toBe(source)
    expect(err.message).toMatch(prefix)
    expect(err.message).toMatch(/is 1048576 characters long, more than the limit of \d+$/)
    expect(err.message).not.toContain('\n')
    expect(err.message.length).toBeLessThan(400)
  })

  it('in a config file that fits MAX_CONFIG_FILE_SIZE, leaving the file as it was', () => {
    const path = join(dir, 'natkit.json')
    const value = pathological(MAX_CONFIG_FILE_SIZE - 64)
    const text = JSON.stringify({ wait: value, count: 5 })
    expect(text.length).toBeLessThanOrEqual(MAX_CONFIG_FILE_SIZE)
    writeFileSync(path, text)
    const { err, ms } = rejectTimed({ flags: { config: path } })
    expect(ms).toBeLessThan(BOUND_MS)
    expect(err.field).toBe('wait')
    expect(err.source).toBe('file')
    expect(err.message).toMatch(new RegExp(`^invalid value for wait in ${path} \\(file\\): .* is ${value.length} characters long, more than the limit of ${MAX_OPTION_VALUE_LENGTH}$`))
    expect(readFileSync(path, 'utf8')).toBe(text)
  })

  it('a config file over MAX_CONFIG_FILE_SIZE is refused before it is read or parsed', () => {
    const path = join(dir, 'big.json')
    writeFileSync(path, JSON.stringify({ wait: pathological(MIB) }))
    const { err, ms } = rejectTimed({ flags: { config: path } })
    expect(ms).toBeLessThan(BOUND_MS)
    expect(err).toBeInstanceOf(ConfigFileError)
    expect(err.message).toBe(`cannot use config file ${path}: it is larger than ${MAX_CONFIG_FILE_SIZE} bytes`)
  })

  it('a list with more than MAX_LIST_ITEMS items (file and env) is refused', () => {
    const items = Array.from({ length: MAX_LIST_ITEMS + 1 }, () => '/ip4/127.0.0.1/tcp/0')
    const path = join(dir, 'natkit.json')
    writeFileSync(path, JSON.stringify({ listen: items }))
    const fromFile = rejectTimed({ flags: { config: path } })
    expect(fromFile.err.message).toMatch(/^invalid value for listen in .* \(file\): .* has 257 items, more than the limit of 256$/)
    const fromEnv = rejectTimed({ env: { NATKIT_LISTEN: items.join(',') } })
    expect(fromEnv.err.message).toMatch(/^invalid value for NATKIT_LISTEN \(env\): .* has 257 items, more than the limit of 256$/)
  })

  it('a deeply nested JSON value in the file is refused in one line, without a stack overflow', () => {
    const path = join(dir, 'natkit.json')
    const depth = 200_000
    writeFileSync(path, `{"wait":${'['.repeat(depth)}${']'.repeat(depth)}}`)
    let err: unknown
    try { resolveOptions(ROLE, { flags: { config: path } }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).not.toContain('\n')
  })

  it('values within the limits still parse', () => {
    const o = resolveOptions(ROLE, { flags: { wait: ' 1.5 s ', size: '2 MiB', count: '+7' }, env: { NATKIT_LISTEN: '/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2' } })
    expect([o.wait, o.size, o.count, o.listen]).toEqual([1500, 2 * MIB, 7, ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2']])
  })
})

describe('the parsers are linear on their own (no length limit in front of them)', () => {
  const parsers: Array<[string, (s: string) => unknown]> = [
    ['parseDuration', parseDuration],
    ['parseBytes', parseBytes],
    ['parseInteger', parseInteger],
    ['parseHostPort', parseHostPort]
  ]
  const shapes: Array<[string, (n: number) => string]> = [
    ['blanks before a bad unit', pathological],
    ['blanks before a unit and junk', n => `1${' '.repeat(n - 4)}ms!`],
    ['digits then junk', n => `${'1'.repeat(n - 1)}!`],
    ['a decimal then junk', n => `1.${'1'.repeat(n - 3)}!`],
    ['letters then junk', n => `1${'k'.repeat(n - 3)} !`],
    ['leading blanks then junk', n => `${' '.repeat(n - 1)}!`]
  ]
  for (const [name, parse] of parsers) {
    it.each(shapes)(`${name}: %s`, (_shape, make) => {
      const input = make(MIB)
      const t0 = performance.now()
      expect(() => parse(input)).toThrow()
      expect(performance.now() - t0).toBeLessThan(BOUND_MS)
    })
  }
})
