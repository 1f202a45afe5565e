import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'
import { DEFAULT_LIFETIME_MAX_MS, MAX_LIFETIME_MS } from '@natkit/nat-behavior/defaults'
import { defineRole, parseHostPort, spec, type CommonOptions, type HostPort } from '@natkit/config'

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
  /**
   * `nat`: STUN observers, `HOST:PORT` or `stun:HOST:PORT` (natkit STUN
   * servers; one started with `--stun-alternate` adds the RFC 5780 tests).
   *
   * @default []
   */
  stun: string[]
  /**
   * `nat`: ask the first `--stun` host:port over TCP to connect back (the
   * unsolicited-inbound test).
   *
   * @default true
   */
  tcpProbe: boolean
  /**
   * `nat`: longest idle time the mapping lifetime probe waits for, in
   * milliseconds (0: no lifetime probe).
   *
   * @default 2000 (DEFAULT_LIFETIME_MAX_MS of @natkit/nat-behavior)
   */
  mappingLifetimeMax: number
  /**
   * Server: run a STUN server on this host:port. Unset = off.
   *
   * @default undefined
   */
  stunListen?: HostPort
  /**
   * Server: the STUN server's alternate address and port (RFC 5780
   * CHANGE-REQUEST, OTHER-ADDRESS), also the source address of TCP
   * connect-backs (served on `--stun-listen` over TCP). Needs `--stun-listen`
   * with a specific address. Unset = off.
   *
   * @default undefined
   */
  stunAlternate?: HostPort
}

/** `HOST:PORT` or `stun:HOST:PORT` → a host and port; a problem message for anything else. */
export function parseStunServer (value: string): HostPort {
  return parseHostPort(value.replace(/^stun:/, ''))
}

function checkStunServer (value: string): string | undefined {
  try {
    parseStunServer(value)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

/** The AutoNAT node's options: the common ones, then its check's. */
export const AUTONAT_ROLE = defineRole<AutonatOptions>({
  name: 'autonat',
  listen: DEFAULT_AUTONAT_LISTEN,
  specs: [
    // the description is shared with the peer's --timeout
    spec('timeout', 'duration', DEFAULT_AUTONAT_TIMEOUT, 'overall timeout (peer: of `dial`; autonat: of a check)', { min: 1, arg: '<duration>' }),
    spec('server', 'multiaddr[]', [], 'AutoNAT servers to ask in check mode', { arg: '<multiaddr>' }),
    spec('stun', 'string[]', [], 'nat: STUN observers HOST:PORT (natkit STUN servers; one with --stun-alternate adds filtering and TCP tests)', { arg: '<host:port>', check: checkStunServer }),
    spec('tcpProbe', 'boolean', true, 'nat: ask the first --stun host:port over TCP to connect back (unsolicited inbound test)'),
    spec('mappingLifetimeMax', 'duration', DEFAULT_LIFETIME_MAX_MS, 'nat: longest idle time the mapping lifetime probe waits for (0 = no probe)', { min: 0, max: MAX_LIFETIME_MS, arg: '<duration>' }),
    spec('stunListen', 'hostport', undefined, 'server: run a UDP STUN binding server on host:port; unset = off', { arg: '<host:port>' }),
    spec('stunAlternate', 'hostport', undefined, 'server: the STUN server\'s alternate address:port (RFC 5780 CHANGE-REQUEST, TCP connect-back from it); needs --stun-listen', { arg: '<host:port>' })
  ],
  check: (o, ctx) => {
    if (o.stunAlternate != null && o.stunListen == null) ctx.fail('stunAlternate', 'needs --stun-listen')
  }
})

/** The `natkit-autonat` command line. */
export const AUTONAT_CLI: ParseInit<AutonatOptions> = {
  name: 'natkit-autonat',
  description: 'AutoNAT v2: serve dial-backs, or check whether this host\'s addresses are reachable',
  role: AUTONAT_ROLE,
  commands: [
    { name: 'server', description: 'run an AutoNAT v2 server (dial-back service)', default: true },
    { name: 'check', description: 'ask the --server AutoNAT v2 servers to dial back this host\'s addresses; exit 0 if one is reachable, 3 if none, 1 if no server answered, 2 on a usage problem (e.g. only loopback addresses to check)' },
    { name: 'nat', description: 'discover what the NAT in front of this host does (mapping, allocation, filtering, hairpinning, unsolicited inbound TCP) through the --stun observers; exit 0 with a verdict, 1 if no observer answered' }
  ]
}

/** Pure: argv (after the script name) and env → command and validated autonat options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<AutonatOptions> {
  return parseRoleArgs(argv, { ...AUTONAT_CLI, env })
}
