// A stock js-libp2p circuit relay, as js-libp2p's documentation composes one
// (tcp, noise, yamux, identify, circuit relay v2 server), listening on
// 127.0.0.1 only: the counterpart of natkit-relay in `npm run bench:startup`.
// With `--same-services` it also runs what natkit-relay runs by default beside
// the relay server (the WebSockets transport, identify push, ping, an AutoNAT
// v2 server), so the comparison separates natkit's own cost from its services'.
// Prints one `{"event":"listening",...}` line once it listens, then runs until
// SIGTERM/SIGINT. Loopback only; dials nothing.
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'

const same = process.argv.includes('--same-services')
const more = same
  ? await Promise.all([import('@libp2p/websockets'), import('@libp2p/ping'), import('@libp2p/autonat-v2')])
  : undefined
const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: more != null ? [tcp(), more[0].webSockets()] : [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    relay: circuitRelayServer(),
    ...(more != null ? { identifyPush: identifyPush(), ping: more[1].ping(), autonat: more[2].autoNATv2() } : {})
  }
})
for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => { node.stop().finally(() => process.exit(0)) })
process.stdout.write(JSON.stringify({ event: 'listening', addrs: node.getMultiaddrs().map(String) }) + '\n')
