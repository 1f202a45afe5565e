import { reportFatal } from '@natkit/cli'
import { parseArgs } from './options.js'

// Parsing loads no libp2p code: `--help` and usage errors answer at once; the
// handler (and with it libp2p and the role's services) is loaded only to run.

let code: number
try {
  const parsed = parseArgs(process.argv.slice(2), process.env)
  const { handler } = await import('./handler.js')
  code = await handler(parsed)
} catch (err) {
  code = reportFatal('natkit-bootstrap', err)
}
// libp2p is stopped by now; native handles (e.g. WebRTC threads) may linger, so exit explicitly once output is flushed
process.stdout.write('', () => { process.exit(code) })
