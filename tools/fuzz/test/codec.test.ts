import { describe, expect, it } from 'vitest'
import { CODEC_TARGETS, fuzzCodec, generate, Rng, STRATEGIES } from '../src/index.js'

describe('generators', () => {
  it('are deterministic for a seed and differ between seeds', () => {
    const target = CODEC_TARGETS[0]
    const run = (seed: number): string[] => { const rng = new Rng(seed); return STRATEGIES.map(s => Buffer.from(generate(rng, target, s)).toString('hex')) }
    expect(run(1)).toEqual(run(1))
    expect(run(1)).not.toEqual(run(2))
  })
})

describe('codec fuzzing', () => {
  for (const target of CODEC_TARGETS) {
    it(`${target.name}: decodes or throws its typed error`, () => {
      const r = fuzzCodec(target, new Rng(42), 2_000)
      expect(r.findings).toEqual([])
      expect(r.inputs).toBe(2_000)
      // both paths are exercised: valid inputs decode, broken ones are rejected with typed errors
      expect(r.decoded).toBeGreaterThan(0)
      expect(Object.values(r.rejected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    })
  }
})
