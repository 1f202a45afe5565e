/**
 * A lab for peers that find each other themselves: the default two-NAT
 * topology with a relay and a bootstrap (DHT) node started on the lab
 * internet. Used by `natkit-lab chat` and the peer shell lab tests.
 */
import { Lab, type LabInit } from './netns.js'
import { spawnRole, type RoleHandle, type RoleName, type SpawnRoleOptions } from './procs.js'
import { BOOTSTRAP_PORT, DEFAULT_STARTUP_TIMEOUT_MS, PEER_PORT, RELAY_PORT } from './scenario.js'
import { DEFAULT_BOOTSTRAP_IP, DEFAULT_RELAY_IP, defaultTopology, type NatProfile } from './topology.js'

export interface PeerLabOptions {
  /** Prefix of the roles' `--seed` (stable peer ids per run). @default 'lab-peers' */
  seed?: string
  /** Build log of the lab. */
  log?: LabInit['log']
}

export interface PeerLab {
  lab: Lab
  /** Multiaddrs (with /p2p) of the relay and the bootstrap node on the lab internet. */
  relayMa: string
  bootstrapMa: string
  /** Starts a role in a lab host with `--network lab`; it is stopped by {@link PeerLab.close}. */
  start: (host: string, bin: RoleName, args: string[], opts?: SpawnRoleOptions) => RoleHandle
  /** Arguments of `natkit-peer shell` in `host` (behind its NAT): fixed port, relay, bootstrap, TCP hole punching. */
  shellArgs: (host: string) => string[]
  /** Stops every role started here (SIGTERM, then SIGKILL) and destroys the lab. */
  close: () => Promise<void>
}

/**
 * Builds `defaultTopology(a, b)` and starts the relay and the bootstrap node
 * on the lab internet, waiting (bounded) until both listen. On failure
 * everything started is torn down before the error is rethrown.
 */
export async function startPeerLab (a: NatProfile, b: NatProfile, opts: PeerLabOptions = {}): Promise<PeerLab> {
  const seed = opts.seed ?? 'lab-peers'
  const lab = await Lab.create(defaultTopology(a, b), { log: opts.log })
  const procs: RoleHandle[] = []
  const start = (host: string, bin: RoleName, args: string[], spawnOpts?: SpawnRoleOptions): RoleHandle => {
    const p = spawnRole(lab, host, bin, args.includes('--network') ? args : [...args, '--network', 'lab'], spawnOpts)
    procs.push(p)
    return p
  }
  const close = async (): Promise<void> => {
    await Promise.allSettled(procs.map(async p => p.stop()))
    await lab.destroy()
  }
  try {
    const relay = start('relay', 'relay', ['--listen', `/ip4/0.0.0.0/tcp/${RELAY_PORT}`, '--announce', `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}`, '--seed', `${seed}-relay`])
    const boot = start('bootstrap', 'bootstrap', ['--listen', `/ip4/0.0.0.0/tcp/${BOOTSTRAP_PORT}`, '--announce', `/ip4/${DEFAULT_BOOTSTRAP_IP}/tcp/${BOOTSTRAP_PORT}`, '--seed', `${seed}-boot`])
    const relayMa = `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}/p2p/${(await relay.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)).peerId}`
    const bootstrapMa = `/ip4/${DEFAULT_BOOTSTRAP_IP}/tcp/${BOOTSTRAP_PORT}/p2p/${(await boot.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)).peerId}`
    const shellArgs = (host: string): string[] => ['shell', '--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT}`, '--seed', `${seed}-${host}`, '--relay', relayMa, '--bootstrap', bootstrapMa, '--direct-paths', 'tcp', '--network', 'lab']
    return { lab, relayMa, bootstrapMa, start, shellArgs, close }
  } catch (err) {
    await close().catch(() => {})
    throw err
  }
}
