import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'

/** The `natkit-relay` command line: a circuit relay v2 server with AutoNAT v2 and optional STUN. */
export const RELAY_CLI: ParseInit = {
  name: 'natkit-relay',
  description: 'Circuit relay v2 server with reservation and circuit limits, an AutoNAT v2 server and an optional STUN binding server',
  role: 'relay'
}

/** Pure: argv (after the script name) and env → validated relay options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<'relay'> {
  return parseRoleArgs<'relay'>(argv, { ...RELAY_CLI, env })
}
