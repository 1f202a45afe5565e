/**
 * @packageDocumentation
 *
 * The natkit NAT lab: real NAT routers (nftables) in Linux network namespaces,
 * an isolated "internet" (11.0.0.0/16) and helpers to run natkit roles inside.
 */

export * from './topology.js'
export * from './netns.js'
export * from './nft.js'
export * from './upnp.js'
export { LabCommandError, DEFAULT_COMMAND_TIMEOUT_MS } from './exec.js'
export * from './procs.js'
export * from './probe.js'
export * from './check.js'
export { createProgram, EXIT_CANNOT_RUN, EXIT_CHECK_FAILED, NotImplementedError } from './program.js'
export * from './scenario.js'
export * from './interop.js'
export * from './report.js'
export * from './delay.js'
export * from './dimensions.js'
export * from './cpuload.js'
export * from './matrix.js'
export * from './peer-lab.js'
export * from './chat.js'
export * from './hard-nat.js'
