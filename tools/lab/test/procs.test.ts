import { existsSync, statSync, utimesSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, ProcessExitedError, REPO_ROOT, roleBinary, RoleBinaryNotFoundError, runnableRoleBinary, spawnRole, StaleBuildError, WaitTimeoutError } from '../src/index.js'
import { labSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { Topology } from '../src/index.js'

const FAKE_ROLE = fileURLToPath(new URL('./fixtures/fake-role.mjs', import.meta.url))

const TOPOLOGY: Topology = {
  name: 'procs',
  internetCidr: '11.0.0.0/16',
  routers: [],
  hosts: [{ name: 'relay', segment: 'internet', ip: '11.0.0.10', role: 'relay' }]
}

describe('role binaries', () => {
  it('are resolved relative to the repository', () => {
    expect(roleBinary('relay')).toMatch(/\/apps\/relay\/bin\/natkit-relay\.js$/)
    expect(roleBinary('autonat')).toMatch(/\/apps\/autonat-probe\/bin\/natkit-autonat\.js$/)
    expect(existsSync(roleBinary('peer'))).toBe(true)
  })
})

/** Runs `fn` with `file` (relative to the repo) dated a minute into the future, then restores its times. */
function withNewerSource (file: string, fn: () => void): void {
  const path = `${REPO_ROOT}${file}`
  const { atime, mtime } = statSync(path)
  const future = new Date(Date.now() + 60_000)
  utimesSync(path, future, future)
  try {
    fn()
  } finally {
    utimesSync(path, atime, mtime)
  }
}

describe('stale builds', () => {
  it('a built checkout runs (npm test builds first)', () => {
    expect(runnableRoleBinary('peer')).toBe(roleBinary('peer'))
  })

  it('refuses to spawn a role whose app src/ is newer than its dist/, naming the file', () => {
    withNewerSource('apps/peer/src/handler.ts', () => {
      expect(() => spawnRole({} as Lab, 'peer-a', 'peer', ['run'])).toThrow(StaleBuildError)
      expect(() => runnableRoleBinary('peer')).toThrow(/^refusing to run apps\/peer\/bin\/natkit-peer\.js from a stale build: apps\/peer\/src\/handler\.ts changed after apps\/peer\/dist was built .*: run npm run build$/)
      // the other apps do not run apps/peer
      expect(runnableRoleBinary('relay')).toBe(roleBinary('relay'))
    })
    expect(runnableRoleBinary('peer')).toBe(roleBinary('peer'))
  })

  it('refuses to spawn a role when a package it runs (packages/holepunch) changed after its build', () => {
    withNewerSource('packages/holepunch/src/holepunch.ts', () => {
      for (const role of ['peer', 'relay', 'bootstrap', 'autonat'] as const) {
        expect(() => runnableRoleBinary(role)).toThrow(/packages\/holepunch\/src\/holepunch\.ts changed after packages\/holepunch\/dist was built/)
      }
    })
  })
})

describe.skipIf(missingPrerequisite(labSkipReason))('spawnRole', () => {
  let lab: Lab

  beforeAll(async () => {
    lab = await Lab.create(TOPOLOGY)
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  it('runs inside the namespace and parses the event stream, keeping other output', async () => {
    const role = spawnRole(lab, 'relay', FAKE_ROLE)
    try {
      const listening = await role.waitForEvent('listening')
      expect(listening.addrs).toEqual(['/ip4/11.0.0.10/tcp/1'])
      expect(role.peerId).toBe('fake-peer')
      await role.waitForLine(l => l === 'a plain log line')
      const pending = role.waitForEvent('reservation', e => e.relay === 'relay-id', 5_000)
      role.send('reserve')
      expect((await pending).event).toBe('reservation')
      await expect(role.waitForEvent('ping', () => true, 200)).rejects.toThrow(WaitTimeoutError)
      expect(role.stderr).toContain('fake role stderr')
    } finally {
      await role.stop()
    }
  })

  it('rejects waits when the process exits first and reports its exit code', async () => {
    const role = spawnRole(lab, 'relay', FAKE_ROLE)
    await role.waitForEvent('listening')
    const waiting = role.waitForEvent('ping', () => true, 10_000)
    role.send('exit 3')
    await expect(waiting).rejects.toThrow(ProcessExitedError)
    expect(await role.exited).toBe(3)
  })

  it('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
    const role = spawnRole(lab, 'relay', FAKE_ROLE, ['--stubborn'])
    await role.waitForEvent('listening')
    const started = Date.now()
    expect(await role.stop(300)).toBeNull()
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    expect(role.stderr).toContain('ignoring SIGTERM')
  })

  it('refuses a missing binary', () => {
    expect(() => spawnRole(lab, 'relay', '/nonexistent/natkit-x.js')).toThrow(RoleBinaryNotFoundError)
  })
})
