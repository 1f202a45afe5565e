/**
 * @packageDocumentation
 *
 * natkit's fuzz suite (issue 11): seeded generators, codec-level fuzzing of
 * every decoder natkit runs on network bytes, stream-level fuzzing of every
 * protocol handler the relay and peer roles serve (real libp2p nodes on
 * 127.0.0.1) and UDP fuzzing of the STUN server, with health checks (no
 * crash, no unhandled rejection, bounded memory, an honest client served
 * afterwards). `npm run fuzz -- --inputs 1000000 --seed 1` writes reports/fuzz.json.
 */
export { Rng } from './rng.js'
export { generate, STRATEGIES, DEFAULT_MAX_GARBAGE, lengthPrefixed, varint, concat, type Strategy, type InputSource } from './generators.js'
export { fuzzCodec, DEFAULT_SLOW_INPUT_MS, type CodecTarget, type CodecResult } from './codec.js'
export { CODEC_TARGETS } from './codec-targets.js'
export type { Finding } from './findings.js'
export { fuzzStream, sendOnStream, connectionTo, relayedConnectionFrom, streamTargetName, DEFAULT_STREAM_INPUT_TIMEOUT_MS, DEFAULT_STREAM_CONCURRENCY, MAX_ANSWER_BYTES, type StreamTarget, type StreamContext, type StreamResult, type StreamOutcome } from './stream.js'
export { STREAM_TARGETS, oneRequestOnly } from './stream-targets.js'
export { fuzzStunUdp, DEFAULT_UDP_BURST, type UdpResult } from './udp.js'
export { HealthWatch, DEFAULT_MAX_RSS_GROWTH, DEFAULT_MAX_HEAP_GROWTH, type HealthReport } from './health.js'
export { runSuite, DEFAULT_STREAM_SHARE, DEFAULT_UDP_SHARE, DEFAULT_MAX_DURATION_MS, type SuiteInit, type SuiteReport, type DcutrFigures } from './suite.js'
export { main, parseCli, summarize, FuzzUsageError, DEFAULT_CLI_INPUTS, MAX_CLI_INPUTS, DEFAULT_REPORT, type CliOptions } from './cli.js'
