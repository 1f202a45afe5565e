// Client side of the netns lab: a plain libp2p node (no autonat service)
// listening on two IPs, running checkReachability against the stock server.
// usage: node --experimental-transform-types --import <tools/testkit/ts-hooks.mjs> client.mjs <server-multiaddr> <primary-ip> <secondary-ip> <port>
// (fixed ports: libp2p 3's getMultiaddrs() hides unconfirmed public addresses)
// Prints one JSON line with all results, then exits.
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { checkReachability } from '../../src/index.ts'

const [server, primaryIp, secondaryIp, port] = process.argv.slice(2)
const node = await createLibp2p({
  addresses: { listen: [`/ip4/${primaryIp}/tcp/${port}`, `/ip4/${secondaryIp}/tcp/${port}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify() }
})
try {
  const primary = multiaddr(`/ip4/${primaryIp}/tcp/${port}`)
  const secondary = multiaddr(`/ip4/${secondaryIp}/tcp/${port}`)
  const closed = multiaddr(`/ip4/${primaryIp}/tcp/9`)
  const privateAddr = multiaddr('/ip4/10.99.0.1/tcp/4001')
  const serverAddr = multiaddr(server)

  const main = await checkReachability(node, serverAddr, [primary, closed, secondary, privateAddr], { timeout: 8_000 })
  const stingy = await checkReachability(node, serverAddr, [secondary], { timeout: 8_000, maxDialDataBytes: 1_000 })
  const handlerRemoved = !node.getProtocols().includes('/libp2p/autonat/2/dial-back')
  process.stdout.write(JSON.stringify({ primary: primary.toString(), secondary: secondary.toString(), main, stingy, handlerRemoved }) + '\n')
} finally {
  await node.stop()
}
process.exit(0)
