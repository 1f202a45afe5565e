import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'

/** The `natkit-peer` command line. */
export const PEER_CLI: ParseInit = {
  name: 'natkit-peer',
  description: 'A natkit peer: keeps reservations on relays, upgrades relayed connections to direct ones by hole punching',
  role: 'peer',
  commands: [
    { name: 'run', description: 'run the peer: listen, keep --relay reservations, accept and upgrade connections (default)', default: true },
    { name: 'dial', args: '<target>', description: 'connect to a multiaddr or peer id, wait up to --timeout for a direct connection; exit 0 direct, 3 relayed only, 1 not connected' }
  ]
}

/** Pure: argv (after the script name) and env → command and validated peer options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<'peer'> {
  return parseRoleArgs<'peer'>(argv, { ...PEER_CLI, env })
}
