import { reportFatal } from '@natkit/cli'
import { parseArgs } from './options.js'
import { handler } from './handler.js'

let code: number
try {
  code = await handler(parseArgs(process.argv.slice(2), process.env, process.stdin.isTTY && process.stdout.isTTY))
} catch (err) {
  code = reportFatal('natkit-peer', err)
}
// libp2p is stopped by now; native handles (e.g. WebRTC threads) may linger, so exit explicitly once output is flushed
process.stdout.write('', () => { process.exit(code) })
