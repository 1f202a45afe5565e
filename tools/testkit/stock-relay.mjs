// A stock js-libp2p circuit relay, as js-libp2p's documentation composes one
// (tcp, noise, yamux, identify, circuit relay v2 server), listening on
// 127.0.0.1 only: the counterpart of natkit-relay in `npm run bench:startup`.
// Prints one `{"event":"listening",...}` line once it listens, then runs until
// SIGTERM/SIGINT. Loopback only; dials nothing.
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), relay: circuitRelayServer() }
})
for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => { node.stop().finally(() => process.exit(0)) })
process.stdout.write(JSON.stringify({ event: 'listening', addrs: node.getMultiaddrs().map(String) }) + '\n')
