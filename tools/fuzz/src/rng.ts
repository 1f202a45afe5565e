/**
 * A small seeded PRNG (mulberry32): the same seed gives the same inputs, so a
 * finding is reproduced with `--seed`. Not for cryptography.
 */
export class Rng {
  #state: number

  constructor (seed: number) {
    this.#state = seed >>> 0
  }

  /** A uniform 32-bit unsigned integer. */
  u32 (): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n). */
  int (n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n)
  }

  /** An integer in [min, max]. */
  range (min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p
  }

  pick<T> (xs: readonly T[]): T {
    return xs[this.int(xs.length)]
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }

  /** A new generator derived from this one and `salt` (independent streams per target). */
  fork (salt: number): Rng {
    return new Rng((this.u32() ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0)
  }
}
