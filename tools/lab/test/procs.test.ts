import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, ProcessExitedError, roleBinary, RoleBinaryNotFoundError, spawnRole, WaitTimeoutError } from '../src/index.js'
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
