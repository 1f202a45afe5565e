import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'

/** The `natkit-bootstrap` command line: a Kademlia DHT server other roles list with `--bootstrap`. */
export const BOOTSTRAP_CLI: ParseInit = {
  name: 'natkit-bootstrap',
  description: 'Kademlia DHT server (plus identify and ping) that other natkit roles use with --bootstrap',
  role: 'bootstrap'
}

/** Pure: argv (after the script name) and env → validated bootstrap options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<'bootstrap'> {
  return parseRoleArgs<'bootstrap'>(argv, { ...BOOTSTRAP_CLI, env })
}
