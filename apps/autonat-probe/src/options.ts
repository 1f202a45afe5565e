import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'
import { defineRole, spec, type CommonOptions } from '@natkit/config'

/** Default of `listen`: TCP 4021. */
export const DEFAULT_AUTONAT_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/4021'])
export const DEFAULT_AUTONAT_TIMEOUT = 10_000

export interface AutonatOptions extends CommonOptions {
  role: 'autonat'
  /**
   * AutoNAT servers to ask in check mode.
   *
   * @default []
   */
  server: string[]
  /**
   * Overall timeout of a reachability check in milliseconds.
   *
   * @default 10000 (10s)
   */
  timeout: number
}

/** The AutoNAT node's options: the common ones, then its check's. */
export const AUTONAT_ROLE = defineRole<AutonatOptions>({
  name: 'autonat',
  listen: DEFAULT_AUTONAT_LISTEN,
  specs: [
    // the description is shared with the peer's --timeout
    spec('timeout', 'duration', DEFAULT_AUTONAT_TIMEOUT, 'overall timeout (peer: of `dial`; autonat: of a check)', { min: 1, arg: '<duration>' }),
    spec('server', 'multiaddr[]', [], 'AutoNAT servers to ask in check mode', { arg: '<multiaddr>' })
  ]
})

/** The `natkit-autonat` command line. */
export const AUTONAT_CLI: ParseInit<AutonatOptions> = {
  name: 'natkit-autonat',
  description: 'AutoNAT v2: serve dial-backs, or check whether this host\'s addresses are reachable',
  role: AUTONAT_ROLE,
  commands: [
    { name: 'server', description: 'run an AutoNAT v2 server (dial-back service)', default: true },
    { name: 'check', description: 'ask the --server AutoNAT v2 servers to dial back this host\'s addresses; exit 0 if one is reachable, 3 if none, 1 if no server answered, 2 on a usage problem (e.g. only loopback addresses to check)' }
  ]
}

/** Pure: argv (after the script name) and env → command and validated autonat options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<AutonatOptions> {
  return parseRoleArgs(argv, { ...AUTONAT_CLI, env })
}
