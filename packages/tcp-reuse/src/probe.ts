// natkit's own (not derived from @libp2p/tcp). A separate entry
// (`@natkit/tcp-reuse/probe`): a role that checks its listen addresses without
// running the port-reusing transport loads neither the transport nor its
// native addon.
import net from 'node:net'
import type { IpFamily } from './utils.js'

/**
 * Binds and listens on `host:port` without SO_REUSEPORT, then closes again.
 * Rejects with the errno error when the port cannot be had exclusively: on
 * Linux a socket without SO_REUSEPORT conflicts with every other listening
 * socket on the port, whether that one set SO_REUSEPORT or not, so
 * `EADDRINUSE` means another socket (e.g. another process) serves the port.
 * Also reveals `EADDRNOTAVAIL` (not an address of this host) and `EACCES`.
 */
export async function probeListen (host: string, port: number, family: IpFamily): Promise<void> {
  const server = net.createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port, ipv6Only: family === 6, exclusive: true }, () => { resolve() })
    })
  } finally {
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }
}
