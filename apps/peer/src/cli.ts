import { reportFatal } from '@natkit/cli'
import { parseArgs } from './options.js'
import { handler } from './handler.js'

try {
  process.exitCode = await handler(parseArgs(process.argv.slice(2), process.env))
} catch (err) {
  process.exitCode = reportFatal('natkit-peer', err)
}
