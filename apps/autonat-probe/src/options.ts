import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'

/** The `natkit-autonat` command line. */
export const AUTONAT_CLI: ParseInit = {
  name: 'natkit-autonat',
  description: 'AutoNAT v2: serve dial-backs, or check whether this host\'s addresses are reachable',
  role: 'autonat',
  commands: [
    { name: 'server', description: 'run an AutoNAT v2 server (dial-back service)', default: true },
    { name: 'check', description: 'ask the --server AutoNAT v2 servers to dial back this host\'s addresses; exit 0 if one is reachable, 3 if none, 1 if no server answered, 2 on a usage problem (e.g. only loopback addresses to check)' }
  ]
}

/** Pure: argv (after the script name) and env → command and validated autonat options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<'autonat'> {
  return parseRoleArgs<'autonat'>(argv, { ...AUTONAT_CLI, env })
}
