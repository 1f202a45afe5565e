export { parseArgs, PEER_ROLE, PEER_CLI, type PeerOptions } from './options.js'
