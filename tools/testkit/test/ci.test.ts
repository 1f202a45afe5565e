import { describe, expect, it } from 'vitest'
import { isCi } from '../src/index.js'

describe('isCi', () => {
  it('is true for CI=true (how .ci/run is started) and other non-empty values, false otherwise', () => {
    expect(isCi({ CI: 'true' })).toBe(true)
    expect(isCi({ CI: '1' })).toBe(true)
    expect(isCi({ CI: 'TRUE ' })).toBe(true)
    expect(isCi({})).toBe(false)
    expect(isCi({ CI: '' })).toBe(false)
    expect(isCi({ CI: 'false' })).toBe(false)
    expect(isCi({ CI: '0' })).toBe(false)
  })
})
