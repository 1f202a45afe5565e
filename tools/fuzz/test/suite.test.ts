/**
 * The fuzz suite in CI (issue 11): ≥ 100k inputs over the codecs, the relay's
 * and the peer's protocol handlers (real libp2p streams on 127.0.0.1) and
 * STUN over UDP, bounded in time; no finding, no crash, no unhandled
 * rejection, bounded memory, and honest clients served afterwards.
 * `NATKIT_FUZZ_SEED` picks another seed (the default is fixed, so a CI
 * failure reproduces).
 */
import { describe, expect, it } from 'vitest'
import { DIRECT_MESSAGE_PROTOCOL } from '@natkit/direct-message'
import { DEFAULT_CHUNK_SIZE, FILE_PROTOCOL } from '@natkit/file-share'
import { HOLEPUNCH_PROTOCOL } from '@natkit/holepunch'
import { CODEC_TARGETS, DEFAULT_MAX_HEAP_GROWTH, DEFAULT_MAX_RSS_GROWTH, runSuite, STREAM_TARGETS, streamTargetName, summarize } from '../src/index.js'

/** Inputs of the CI run: at least the 100k the issue asks. */
const CI_INPUTS = 120_000
/** New inputs stop after this; the test then fails on the count. */
const CI_MAX_DURATION_MS = 100_000
const seed = Number(process.env.NATKIT_FUZZ_SEED ?? 11)

describe(`fuzz suite (${CI_INPUTS} inputs, seed ${seed})`, () => {
  it('every handler survives, memory stays bounded, honest clients are served', async () => {
    const report = await runSuite({ inputs: CI_INPUTS, seed, maxDurationMs: CI_MAX_DURATION_MS })
    for (const line of summarize(report)) console.log(line)

    expect(report.findings).toEqual([])
    expect(report.findingCount).toBe(0)
    expect(report.inputs).toBeGreaterThanOrEqual(100_000)
    expect(report.inputs).toBe(CI_INPUTS)
    expect(report.health.uncaughtExceptions).toEqual([])
    expect(report.health.unhandledRejections).toEqual([])
    expect(report.health.rssGrowthBytes).toBeLessThanOrEqual(DEFAULT_MAX_RSS_GROWTH)
    expect(report.health.heapGrowthBytes).toBeLessThanOrEqual(DEFAULT_MAX_HEAP_GROWTH)

    // every target got inputs, both codec paths ran, every protocol was negotiated
    expect(report.codec.map(c => c.target)).toEqual(CODEC_TARGETS.map(t => t.name))
    for (const c of report.codec) {
      expect(c.decoded, c.target).toBeGreaterThan(0)
      expect(Object.values(c.rejected).reduce((a, b) => a + b, 0), c.target).toBeGreaterThan(0)
    }
    expect(report.stream).toHaveLength(STREAM_TARGETS.length)
    for (const s of report.stream) {
      expect(s.inputs, s.target).toBeGreaterThan(0)
      expect(s.outcomes.refused, s.target).toBeLessThan(s.inputs / 10)
    }
    // DCUtR: on the relayed connection the peer dialed, (nearly) every input
    // reached the responder's parser; on the direct one every stream was reset
    // unread and counted as refused (the hardening holds under fuzzing)
    const dcutrRelayed = report.stream.find(s => s.target === streamTargetName({ role: 'peer', protocol: HOLEPUNCH_PROTOCOL, via: 'relayed' }))
    const dcutrDirect = report.stream.find(s => s.target === streamTargetName({ role: 'peer', protocol: HOLEPUNCH_PROTOCOL }))
    if (dcutrRelayed == null || dcutrDirect == null) throw new Error('a DCUtR stream target is missing')
    expect(report.dcutr.handled + report.dcutr.busy).toBeLessThanOrEqual(dcutrRelayed.inputs)
    expect(report.dcutr.handled).toBeGreaterThanOrEqual(Math.floor(dcutrRelayed.inputs * 0.9))
    expect(dcutrRelayed.bytesReceived).toBeGreaterThan(0)
    expect(report.dcutr.refused).toBe(dcutrDirect.inputs)
    expect(dcutrDirect.outcomes.reset).toBe(dcutrDirect.inputs)
    expect(dcutrDirect.bytesReceived).toBe(0)

    // the peer app's services answered fuzz inputs: DM acks, and chunks of the shared file to requests naming it
    const dm = report.stream.find(s => s.target === streamTargetName({ role: 'peer-services', protocol: DIRECT_MESSAGE_PROTOCOL }))
    const file = report.stream.find(s => s.target === streamTargetName({ role: 'peer-services', protocol: FILE_PROTOCOL }))
    expect(dm?.bytesReceived).toBeGreaterThan(0)
    expect(file?.bytesReceived).toBeGreaterThan(DEFAULT_CHUNK_SIZE)

    // the standalone STUN server answered the valid requests among the fuzz
    expect(report.udp[0].answers).toBeGreaterThan(0)

    const honest = Object.fromEntries(report.honest.map(h => [h.check, h.ok]))
    expect(honest).toEqual({
      'relay running': true,
      'relay ping': true,
      'relay autonat': true,
      'peer running': true,
      'peer ping': true,
      'peer autonat': true,
      'bootstrap running': true,
      'bootstrap ping': true,
      'bootstrap dht': true,
      'autonat running': true,
      'autonat ping': true,
      'autonat autonat': true,
      'relay reservation': true,
      'peer dcutr': true,
      'peer dcutr on a direct connection refused': true,
      'peer-services running': true,
      'peer-services ping': true,
      'peer-services dm': true,
      'peer-services file': true,
      'stun binding': true,
      'relay stun binding': true
    })
  }, CI_MAX_DURATION_MS + 60_000)
})
