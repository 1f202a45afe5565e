/** The AutoNAT node's option rows through @natkit/config (moved from packages/config with the rows, issue 9). */
import { COMMON_SPECS, ROLE_OPTION_KEYS, describeOptions, resolveOptions } from '@natkit/config'
import { describe, expect, it } from 'vitest'
import { AUTONAT_ROLE } from './options.js'

describe('autonat options', () => {
  it('the common rows, then the AutoNAT node\'s; ROLE_OPTION_KEYS.autonat names exactly its own', () => {
    expect(AUTONAT_ROLE.specs.map(s => s.key)).toEqual([...COMMON_SPECS.map(s => s.key), ...ROLE_OPTION_KEYS.autonat])
  })

  it('has the documented defaults', () => {
    const o = resolveOptions(AUTONAT_ROLE, {})
    expect(o.listen).toEqual(['/ip4/0.0.0.0/tcp/4021'])
    expect(o.timeout).toBe(10_000)
    expect(o.server).toEqual([])
    expect(describeOptions(AUTONAT_ROLE)).toMatch(/--timeout <duration>\s+NATKIT_TIMEOUT\s+10s/)
  })
})
