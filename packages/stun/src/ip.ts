import { isIPv4, isIPv6 } from 'node:net'
import { InvalidIpAddressError } from './errors.js'

/** Number of 16-bit groups in an IPv6 address. */
const IPV6_GROUPS = 8

/** Removes an IPv6 zone/scope id (`fe80::1%eth0` → `fe80::1`). */
function stripZone (address: string): string {
  const pct = address.indexOf('%')
  return pct === -1 ? address : address.slice(0, pct)
}

function ipv4ToBytes (address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(part => Number.parseInt(part, 10)))
}

function ipv6ToBytes (address: string): Uint8Array {
  let text = address
  const lastColon = text.lastIndexOf(':')
  const last = text.slice(lastColon + 1)

  // embedded IPv4 tail, e.g. ::ffff:192.0.2.1 → two hex groups
  if (last.includes('.')) {
    const v4 = ipv4ToBytes(last)
    text = `${text.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`
  }

  const [headText, tailText] = text.split('::')
  const head = headText === '' ? [] : headText.split(':')
  const tail = tailText == null || tailText === '' ? [] : tailText.split(':')
  const zeros = tailText == null ? 0 : IPV6_GROUPS - head.length - tail.length
  const groups = [...head, ...new Array<string>(zeros).fill('0'), ...tail]
  const out = new Uint8Array(16)

  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16)
    out[i * 2] = value >> 8
    out[i * 2 + 1] = value & 0xff
  })

  return out
}

/**
 * Converts an IP address literal to its 4 or 16 network-order bytes. A zone id
 * (`%eth0`) is ignored.
 *
 * @throws {InvalidIpAddressError} if `address` is not an IPv4/IPv6 literal
 */
export function ipToBytes (address: string): Uint8Array {
  const bare = stripZone(address)

  if (isIPv4(bare)) {
    return ipv4ToBytes(bare)
  }

  if (isIPv6(bare)) {
    return ipv6ToBytes(bare)
  }

  throw new InvalidIpAddressError(`"${address}" is not an IP address`)
}

/** True for `::ffff:0:0/96` (an IPv4 address carried in an IPv6 socket). */
function isV4Mapped (bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) {
    if (bytes[i] !== 0) {
      return false
    }
  }

  return bytes[10] === 0xff && bytes[11] === 0xff
}

/**
 * Formats 4 or 16 network-order bytes as an address literal; IPv6 uses the
 * RFC 5952 canonical text form (lowercase, longest zero run as `::`,
 * `::ffff:a.b.c.d` for IPv4-mapped addresses), the same form Node.js uses.
 *
 * @throws {InvalidIpAddressError} if `bytes` is not 4 or 16 bytes long
 */
export function bytesToIp (bytes: Uint8Array): string {
  if (bytes.length === 4) {
    return Array.from(bytes).join('.')
  }

  if (bytes.length !== 16) {
    throw new InvalidIpAddressError(`an IP address has 4 or 16 bytes, not ${bytes.length}`)
  }

  if (isV4Mapped(bytes)) {
    return `::ffff:${bytesToIp(bytes.subarray(12))}`
  }

  const groups: number[] = []
  for (let i = 0; i < IPV6_GROUPS; i++) {
    groups.push((bytes[i * 2] << 8) | bytes[i * 2 + 1])
  }

  // longest run of at least two zero groups; the first one wins a tie
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < IPV6_GROUPS;) {
    if (groups[i] !== 0) {
      i++
      continue
    }

    let end = i
    while (end < IPV6_GROUPS && groups[end] === 0) {
      end++
    }

    if (end - i > bestLength) {
      bestStart = i
      bestLength = end - i
    }

    i = end
  }

  const hex = groups.map(group => group.toString(16))

  if (bestStart === -1) {
    return hex.join(':')
  }

  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/**
 * Returns the IPv4 address for an IPv4-mapped IPv6 address (as reported by a
 * dual-stack `udp6` socket for IPv4 peers), otherwise `address` unchanged.
 */
export function unmapIPv4 (address: string): string {
  const bare = stripZone(address)

  if (!isIPv6(bare)) {
    return address
  }

  const bytes = ipv6ToBytes(bare)

  return isV4Mapped(bytes) ? bytesToIp(bytes.subarray(12)) : address
}
