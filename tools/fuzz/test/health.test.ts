import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { TS_HOOKS } from '@natkit/testkit'
import { describe, expect, it } from 'vitest'

const FIXTURE = fileURLToPath(new URL('./fixtures/crash-watch.ts', import.meta.url))

describe('HealthWatch', () => {
  it('records an unhandled rejection and an uncaught exception as findings (and keeps the process alive to report them)', () => {
    const child = spawnSync(process.execPath, ['--no-warnings', '--conditions=source', '--experimental-transform-types', '--import', TS_HOOKS, FIXTURE], { encoding: 'utf8', timeout: 20_000 })
    expect(child.status, child.stderr).toBe(0)
    const { report, findings } = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { report: { unhandledRejections: string[], uncaughtExceptions: string[], heapGrowthBytes: number }, findings: Array<{ problem: string }> }
    expect(report.unhandledRejections).toEqual(['RangeError: a handler forgot to catch'])
    expect(report.uncaughtExceptions).toEqual(['TypeError: a listener threw'])
    expect(findings.map(f => f.problem)).toEqual(['uncaught exception: TypeError: a listener threw', 'unhandled rejection: RangeError: a handler forgot to catch'])
    expect(typeof report.heapGrowthBytes).toBe('number')
  })
})
