import { describe, expect, it } from 'vitest'
import { NatKnowledge } from './nat.js'

describe('NatKnowledge (discovery → hole punching)', () => {
  it('passes the mapping and allocation on, then the filtering once discovery classified it', () => {
    const k = new NatKnowledge()
    expect(k.get()).toBeUndefined()
    // discovery's partial result: mapping and allocation, filtering not tested yet
    k.set({ mapping: 'endpoint-independent', allocation: 'preserving' })
    expect(k.get()).toEqual({ mapping: 'endpoint-independent', allocation: 'preserving' })
    k.set({ mapping: 'endpoint-independent', allocation: 'preserving', filtering: 'address-dependent' })
    expect(k.get()).toEqual({ mapping: 'endpoint-independent', allocation: 'preserving', filtering: 'address-dependent' })
    k.set({ mapping: 'address-and-port-dependent', allocation: 'sequential', stride: 2 })
    expect(k.get()).toEqual({ mapping: 'address-and-port-dependent', allocation: 'sequential', stride: 2 })
  })
})
