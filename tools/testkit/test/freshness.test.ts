import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StaleBuildError, assertFreshBuild, newestFile, packageDirOf, staleBuildReason } from '../src/index.js'

// a throw-away workspace: apps/app (bin + src + dist) depends on packages/lib, which depends on nothing
let root = ''
const T0 = new Date('2026-01-01T00:00:00Z')
const later = (s: number): Date => new Date(T0.getTime() + s * 1000)

function file (path: string, mtime: Date, text = ''): void {
  mkdirSync(join(root, path, '..'), { recursive: true })
  writeFileSync(join(root, path), text)
  utimesSync(join(root, path), mtime, mtime)
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'natkit-freshness-'))
  file('packages/lib/package.json', T0, JSON.stringify({ name: '@t/lib' }))
  file('packages/lib/src/index.ts', T0)
  file('packages/lib/src/index.test.ts', later(100))
  file('packages/lib/dist/index.js', later(1))
  file('apps/app/package.json', T0, JSON.stringify({ name: '@t/app', dependencies: { '@t/lib': '*', 'left-pad': '*' } }))
  file('apps/app/bin/app.js', T0)
  file('apps/app/src/deep/x.ts', T0)
  file('apps/app/dist/deep/x.js', later(1))
})
afterEach(() => { rmSync(root, { recursive: true, force: true }) })

describe('stale build check', () => {
  it('passes when every dist/ is newer than its src/ (tests in src/ do not count)', () => {
    expect(staleBuildReason(join(root, 'apps/app'), root)).toBeUndefined()
    expect(() => { assertFreshBuild(join(root, 'apps/app/bin/app.js'), root) }).not.toThrow()
  })

  it('refuses when the spawned package\'s own src/ is newer, naming the file', () => {
    utimesSync(join(root, 'apps/app/src/deep/x.ts'), later(5), later(5))
    expect(() => { assertFreshBuild(join(root, 'apps/app/bin/app.js'), root) }).toThrow(StaleBuildError)
    expect(() => { assertFreshBuild(join(root, 'apps/app/bin/app.js'), root) }).toThrow(/^refusing to run apps\/app\/bin\/app\.js from a stale build: apps\/app\/src\/deep\/x\.ts changed after apps\/app\/dist was built .*: run npm run build$/)
  })

  it('refuses when a workspace dependency\'s src/ is newer than its dist/', () => {
    utimesSync(join(root, 'packages/lib/src/index.ts'), later(5), later(5))
    expect(staleBuildReason(join(root, 'apps/app'), root)).toMatch(/^packages\/lib\/src\/index\.ts changed after packages\/lib\/dist was built/)
  })

  it('refuses when a dependency was never built', () => {
    rmSync(join(root, 'packages/lib/dist'), { recursive: true })
    expect(staleBuildReason(join(root, 'apps/app'), root)).toBe('packages/lib is not built (no packages/lib/dist): run npm run build')
  })

  it('looks at a bounded number of files', () => {
    for (let i = 0; i < 10; i++) file(`packages/lib/src/f${i}.ts`, later(i))
    expect(newestFile(join(root, 'packages/lib/src'), 3)?.files).toBe(3)
    expect(newestFile(join(root, 'packages/lib/src'))?.path).toBe(join(root, 'packages/lib/src/f9.ts'))
  })

  it('finds the package of a script', () => {
    expect(packageDirOf(join(root, 'apps/app/bin/app.js'))).toBe(join(root, 'apps/app'))
    expect(packageDirOf(join(root, 'apps/app/dist/deep/x.js'))).toBe(join(root, 'apps/app'))
  })
})
