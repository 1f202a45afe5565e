// Derived from @libp2p/tcp 11.0.28 (src/utils.ts), https://github.com/libp2p/js-libp2p,
// copyright (c) Protocol Labs, Inc. and contributors, licensed Apache-2.0 OR MIT;
// used under MIT. See ../NOTICE for the license text and what changed.
import net from 'node:net'
import os from 'node:os'
import { InvalidParametersError } from '@libp2p/interface'
import { getNetConfig, ipPortToMultiaddr } from '@libp2p/utils'
import type { AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { EventEmitter } from 'node:events'

/**
 * IP family of a TCP endpoint
 */
export type IpFamily = 4 | 6

/**
 * The parts of a TCP multiaddr that `net` needs
 */
export interface TcpTarget {
  /** IP address or DNS name */
  host: string
  port: number
  /** `undefined` for a plain `/dns/` name whose family is unknown */
  family?: IpFamily
}

/**
 * Convert a `/ip4|ip6|dns4|dns6|dns/.../tcp/N` multiaddr into host/port/family
 */
export function toTcpTarget (ma: Multiaddr): TcpTarget {
  const config = getNetConfig(ma)

  if (config.protocol !== 'tcp' || config.port == null) {
    throw new InvalidParametersError(`Multiaddr ${ma.toString()} is not a TCP address`)
  }

  let family: IpFamily | undefined

  if (config.type === 'ip4' || config.type === 'dns4') {
    family = 4
  } else if (config.type === 'ip6' || config.type === 'dns6') {
    family = 6
  }

  return { host: config.host, port: config.port, family }
}

const V4_MAPPED_PREFIX = '::ffff:'

/**
 * A dual-stack IPv6 socket reports IPv4 peers as `::ffff:a.b.c.d`, turn those
 * back into plain IPv4 addresses
 */
export function unmapIPv4 (address: string): string {
  if (address.toLowerCase().startsWith(V4_MAPPED_PREFIX)) {
    const rest = address.slice(V4_MAPPED_PREFIX.length)

    if (net.isIPv4(rest)) {
      return rest
    }
  }

  return address
}

/**
 * Build a multiaddr from a socket's peer address, normalising v4-mapped IPv6
 */
export function socketAddressToMultiaddr (address: string, port: number): Multiaddr {
  return ipPortToMultiaddr(unmapIPv4(address), port)
}

export function isWildcard (host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

export function isLoopback (host: string): boolean {
  const address = unmapIPv4(host)

  if (net.isIPv4(address)) {
    return address.startsWith('127.')
  }

  return address === '::1'
}

/**
 * True when `host` is one of this machine's own interface addresses (or a
 * loopback/wildcard address, which always refers to this machine)
 */
export function isLocalAddress (host: string): boolean {
  if (isLoopback(host) || isWildcard(host)) {
    return true
  }

  const address = unmapIPv4(host)

  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const info of addrs ?? []) {
      if (info.address === address) {
        return true
      }
    }
  }

  return false
}

export interface OnceEventOptions extends AbortOptions {
  /**
   * Reject if the emitter emits `error` first
   *
   * @default true
   */
  rejectOnError?: boolean
}

/**
 * Resolve when `emitter` emits `event`, reject when it emits `error` (if
 * `rejectOnError`) or when the signal aborts
 */
export async function onceEvent (emitter: EventEmitter, event: string, options: OnceEventOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()

  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      emitter.removeListener(event, onEvent)
      emitter.removeListener('error', onError)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onEvent = (): void => {
      cleanup()
      resolve()
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onAbort = (): void => {
      cleanup()
      reject(options.signal?.reason)
    }

    emitter.once(event, onEvent)

    if (event !== 'error' && options.rejectOnError !== false) {
      emitter.once('error', onError)
    }

    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
}
