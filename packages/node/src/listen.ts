import { UserError } from '@natkit/events'
import { nodeComponents } from '@natkit/libp2p-internals'
// the probe alone: a role that does not reuse ports never loads the transport and its native addon
import { probeListen } from '@natkit/tcp-reuse/probe'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'

/**
 * A listen address this host cannot listen on, found before the node starts
 * (or translated from libp2p's multi-line error when it starts). One line
 * naming the address and the cause; a user error (exit status 2): every cause
 * is fixed by changing `--listen`, including a port that another process
 * already serves (issue 11: natkit never shares a fixed port silently).
 */
export class ListenAddressError extends UserError {
  static override name = 'ListenAddressError'
  override name = 'ListenAddressError'
  /** the listen address as configured */
  readonly address: string
  /** the errno name (`EADDRINUSE`, `EADDRNOTAVAIL`, `EACCES`, …) when a bind failed */
  readonly code?: string

  constructor (address: string, problem: string, code?: string) {
    super(`cannot listen on ${address}: ${problem}`)
    this.address = address
    this.code = code
  }
}

const DNS = new Set(['dns', 'dns4', 'dns6', 'dnsaddr'])

/** What a failed bind means, in words. */
function bindProblem (host: string, port: number, code: string | undefined, message: string): string {
  switch (code) {
    case 'EADDRINUSE': return `port ${port} on ${host} is already in use (another process listens on it)`
    case 'EADDRNOTAVAIL': return `${host} is not an address of this host`
    case 'EACCES': return `permission denied for port ${port} (ports below 1024 need privileges)`
    default: return `${code ?? 'bind failed'}: ${message.split('\n')[0]}`
  }
}

/**
 * Checks every configured listen address before the node starts, so that a
 * bad one fails with a {@link ListenAddressError} instead of libp2p's
 * multi-line error: a DNS name (listening needs an IP address), an address
 * kind none of the node's transports listens on (e.g. `/quic-v1`), and, for
 * `/ip4|ip6/…/tcp/N` addresses (also under `/ws`), a trial bind without
 * SO_REUSEPORT that reveals a port another process serves, an address not on
 * this host, or a privileged port. The trial socket is closed at once.
 */
export async function checkListenAddrs (node: Libp2p, addrs: readonly string[], role: string): Promise<void> {
  const transports = nodeComponents(node).transportManager.getTransports()
  for (const address of addrs) {
    const ma = multiaddr(address)
    const components = ma.getComponents()
    const first = components[0]?.name
    if (first != null && DNS.has(first)) {
      throw new ListenAddressError(address, 'a listen address needs an IP address (/ip4/… or /ip6/…), not a DNS name')
    }
    if (!transports.some(t => t.listenFilter([ma]).length > 0)) {
      throw new ListenAddressError(address, `the ${role} role has no transport that listens on this kind of address`)
    }
    if ((first === 'ip4' || first === 'ip6') && components[1]?.name === 'tcp') {
      const host = components[0].value ?? ''
      const port = Number(components[1].value)
      try {
        await probeListen(host, port, first === 'ip4' ? 4 : 6)
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        // a host without IPv6: libp2p tolerates failed IPv6 listens when IPv4 ones work
        if (e.code === 'EAFNOSUPPORT' && first === 'ip6') continue
        throw new ListenAddressError(address, bindProblem(host, port, e.code, e.message), e.code)
      }
    }
  }
}

/**
 * libp2p's `UnsupportedListenAddressesError` (several lines, with stacks and
 * advice about a libp2p option) as one {@link ListenAddressError} naming the
 * first failed address and its error's first line; other errors unchanged.
 */
export function toListenAddressError (err: unknown): unknown {
  if ((err as Error | undefined)?.name !== 'UnsupportedListenAddressesError') return err
  const m = /^\s+(\/\S+): (.+)$/m.exec((err as Error).message)
  if (m == null) return new ListenAddressError('the configured addresses', 'libp2p could not listen on them')
  return new ListenAddressError(m[1], m[2].trim())
}
