// Stock js-libp2p AutoNAT v2 server for the netns lab.
// usage: node server.mjs <listen-ip> <port>
// (a fixed port: libp2p 3's getMultiaddrs() hides public addresses until they are confirmed)
// Prints one JSON line {"addr": "<multiaddr with /p2p>"} when ready, exits when stdin closes.
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

const [ip, port] = process.argv.slice(2)
const node = await createLibp2p({
  addresses: { listen: [`/ip4/${ip}/tcp/${port}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), autoNAT: autoNATv2() }
})
const addr = `/ip4/${ip}/tcp/${port}/p2p/${node.peerId}`
process.stdout.write(JSON.stringify({ addr }) + '\n')

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  await node.stop()
  process.exit(0)
}
process.stdin.on('end', () => { stop().catch(() => process.exit(1)) })
process.stdin.on('close', () => { stop().catch(() => process.exit(1)) })
process.on('SIGTERM', () => { stop().catch(() => process.exit(1)) })
process.stdin.resume()
