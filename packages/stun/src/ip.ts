import { SocketAddress } from 'node:net'
import { parseIP } from '@chainsafe/is-ip/parse'
import { InvalidIpAddressError } from './errors.js'

/**
 * Converts an IP address literal to its 4 or 16 network-order bytes. A zone id
 * (`%eth0`) is ignored.
 *
 * @throws {InvalidIpAddressError} if `address` is not an IPv4/IPv6 literal
 */
export function ipToBytes (address: string): Uint8Array {
  const bytes = parseIP(address)

  if (bytes == null) {
    throw new InvalidIpAddressError(`"${address}" is not an IP address`)
  }

  return bytes
}

/** True for `::ffff:0:0/96` (an IPv4 address carried in an IPv6 socket). */
function isV4Mapped (bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
}

/**
 * Formats 4 or 16 network-order bytes as an address literal; IPv6 uses the
 * RFC 5952 canonical text form (lowercase, longest zero run as `::`,
 * `::ffff:a.b.c.d` for IPv4-mapped addresses), the form Node.js uses.
 *
 * @throws {InvalidIpAddressError} if `bytes` is not 4 or 16 bytes long
 */
export function bytesToIp (bytes: Uint8Array): string {
  if (bytes.length === 4) {
    return bytes.join('.')
  }

  if (bytes.length !== 16) {
    throw new InvalidIpAddressError(`an IP address has 4 or 16 bytes, not ${bytes.length}`)
  }

  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] << 8) | bytes[i * 2 + 1]).toString(16))

  // Node formats (and so canonicalises) the address the way it reports peers
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address
}

/**
 * Returns the IPv4 address for an IPv4-mapped IPv6 address (as reported by a
 * dual-stack `udp6` socket for IPv4 peers), otherwise `address` unchanged.
 */
export function unmapIPv4 (address: string): string {
  const bytes = parseIP(address)

  return bytes != null && isV4Mapped(bytes) ? bytesToIp(bytes.subarray(12)) : address
}
