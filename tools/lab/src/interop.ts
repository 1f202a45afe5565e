/**
 * Interop counterparts in the lab: the go-libp2p and rust-libp2p test peers
 * from tools/interop (built by tools/interop/build.sh, never shipped). They
 * print natkit's JSON event schema, so they run as {@link RoleHandle}s.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, RoleHandle } from './procs.js'
import type { Lab } from './netns.js'
import type { Host } from './topology.js'

/** Which implementation runs a lab peer. */
export type PeerImpl = 'natkit' | 'go' | 'rust'
export const PEER_IMPLS: readonly PeerImpl[] = ['natkit', 'go', 'rust']

/** Which implementation runs the lab's circuit relay v2 server. */
export type RelayImpl = 'natkit' | 'go'
export const RELAY_IMPLS: readonly RelayImpl[] = ['natkit', 'go']

/** The interop binaries, by implementation (file names in {@link interopBinDir}). */
export const INTEROP_BINARIES = { go: 'interop-go', rust: 'interop-rust' } as const

export type InteropImpl = keyof typeof INTEROP_BINARIES

/** Environment variable overriding where the interop binaries are. */
export const INTEROP_BIN_DIR_ENV = 'NATKIT_INTEROP_BIN_DIR'

/** Where tools/interop/build.sh puts the binaries. @default `<repo>/tools/interop/bin` */
export const DEFAULT_INTEROP_BIN_DIR = join(REPO_ROOT, 'tools/interop/bin')

export class InteropBinaryNotFoundError extends Error {
  override name = 'InteropBinaryNotFoundError'
}

/** The directory holding the interop binaries ({@link INTEROP_BIN_DIR_ENV} or the default). */
export function interopBinDir (): string {
  return process.env[INTEROP_BIN_DIR_ENV] ?? DEFAULT_INTEROP_BIN_DIR
}

/** Absolute path of an interop binary. */
export function interopBinary (impl: InteropImpl): string {
  return join(interopBinDir(), INTEROP_BINARIES[impl])
}

/** The interop binaries that are not built (empty when all are there). */
export function missingInteropBinaries (): string[] {
  return (Object.keys(INTEROP_BINARIES) as InteropImpl[]).map(interopBinary).filter(p => !existsSync(p))
}

/**
 * Runs an interop peer (`listen`, `dial <target>` or, for go, `relay`) inside
 * the host's namespace; its JSON events are parsed like a natkit role's.
 */
export function spawnInterop (lab: Lab, host: string | Host, impl: InteropImpl, args: string[]): RoleHandle {
  const bin = interopBinary(impl)
  if (!existsSync(bin)) throw new InteropBinaryNotFoundError(`interop binary ${bin} not found (build it: bash tools/interop/build.sh)`)
  const hostName = typeof host === 'string' ? host : host.name
  // go-libp2p logs to stderr only; keep it quiet unless asked
  return new RoleHandle(lab, host, bin, args, {
    env: { ...process.env, GOLOG_LOG_LEVEL: process.env.GOLOG_LOG_LEVEL ?? 'error', RUST_LOG: process.env.RUST_LOG ?? 'error' },
    label: `${impl} ${args[0] ?? ''} in ${hostName}`
  })
}

export class UnsupportedInteropError extends Error {
  override name = 'UnsupportedInteropError'
}

/**
 * Interop trials are TCP only: go-libp2p v0.52.0 has no WebRTC
 * private-to-private transport (only `/webrtc-direct`), the rust peer is built
 * without WebRTC, and the go relay runs no STUN server for natkit's WebRTC.
 */
export function assertInteropSupported (transport: string, impls: { a: PeerImpl, b: PeerImpl, relay: RelayImpl }): void {
  for (const [what, impl, allowed] of [['peer-a', impls.a, PEER_IMPLS], ['peer-b', impls.b, PEER_IMPLS], ['relay', impls.relay, RELAY_IMPLS]] as const) {
    if (!(allowed as readonly string[]).includes(impl)) throw new UnsupportedInteropError(`unknown ${what} implementation "${impl}" (use ${allowed.join(', ')})`)
  }
  const interop = impls.a !== 'natkit' || impls.b !== 'natkit' || impls.relay !== 'natkit'
  if (interop && transport !== 'tcp') throw new UnsupportedInteropError(`go/rust peers and the go relay run over TCP only, not ${transport} (go-libp2p v0.52.0 has no WebRTC private-to-private transport)`)
}
