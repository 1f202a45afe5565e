/**
 * The throughput phase against the real relays, at a tiny size: the relayed
 * path really goes through the relay under test (its CPU moves, and its data
 * limit, set by the bench, cuts a transfer larger than the limit), for
 * natkit-relay and, when built, go-libp2p's relay.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { assertFreshBuild } from '@natkit/testkit'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { BINS } from '@natkit/testkit/roles'
import { interopBinDir } from '@natkit/lab'
import { GO_RELAY_BINARY, RelayProcess } from '../src/relay-proc.js'
import { measureThroughput } from '../src/throughput.js'
import type { RelayImpl } from '../src/args.js'

const cleanup: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c() })

const MiB = 1024 * 1024
const LIMITS = { reservations: 4, circuits: 1, concurrency: 2 }

async function relay (impl: RelayImpl, circuitDataBytes: number): Promise<RelayProcess> {
  const r = await RelayProcess.start(impl, { ...LIMITS, circuitDataBytes })
  cleanup.push(async () => await r.stop())
  return r
}

const goRelay = join(interopBinDir(), GO_RELAY_BINARY)
const RELAYS: Array<{ impl: RelayImpl, missing?: string }> = [
  { impl: 'natkit' },
  { impl: 'go', missing: existsSync(goRelay) ? undefined : `the go relay ${goRelay} is not built (bash tools/interop/build.sh)` }
]

for (const { impl, missing } of RELAYS) {
  describe.skipIf(missingPrerequisite(missing))(`throughput through the ${impl} relay: raw TCP, direct and relayed libp2p`, () => {
    it('2 MiB over each path; the relayed run costs the relay CPU; a 256 KiB data limit set by the bench cuts it', async () => {
      if (impl === 'natkit') assertFreshBuild(BINS.relay)
      const open = await relay(impl, 8 * MiB)
      const t = await measureThroughput(open, () => open.stat(), 2, 1, 20_000)
      expect(t.bytesPerRun).toBe(2 * MiB)
      for (const p of [t.rawTcp, t.direct, t.relayed]) {
        expect(p.runsSeconds).toHaveLength(1)
        expect(p.mibPerS).toBeGreaterThan(0)
      }
      expect(t.relayCpuMsPerMiB, 'the relay process (from /proc) did the relaying').toBeGreaterThan(0)
      // the limit the bench passes reaches the relay: 2 MiB do not fit in 256 KiB
      const tight = await relay(impl, 256 * 1024)
      await expect(measureThroughput(tight, () => tight.stat(), 2, 1, 20_000)).rejects.toThrow()
    }, 90_000)
  })
}
