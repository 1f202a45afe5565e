import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'
import { DHT_PROTOCOL_SPEC, defineRole, spec, type CommonOptions } from '@natkit/config'

/** Default of `listen`: TCP 4011. */
export const DEFAULT_BOOTSTRAP_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/4011'])
export const DEFAULT_K_BUCKET_SIZE = 20

export interface BootstrapOptions extends CommonOptions {
  role: 'bootstrap'
  /**
   * Kademlia protocol id.
   *
   * @default '/natkit/kad/1.0.0' for `local`/`lab`; '/ipfs/kad/1.0.0' for `public`
   */
  dhtProtocol: string
  /**
   * Kademlia k-bucket size.
   *
   * @default 20
   */
  kBucketSize: number
}

/** The bootstrap node's options: the common ones, then its DHT's. */
export const BOOTSTRAP_ROLE = defineRole<BootstrapOptions>({
  name: 'bootstrap',
  listen: DEFAULT_BOOTSTRAP_LISTEN,
  specs: [
    DHT_PROTOCOL_SPEC,
    spec('kBucketSize', 'int', DEFAULT_K_BUCKET_SIZE, 'Kademlia k-bucket size', { min: 1, max: 1000, arg: '<n>' })
  ]
})

/** The `natkit-bootstrap` command line: a Kademlia DHT server other roles list with `--bootstrap`. */
export const BOOTSTRAP_CLI: ParseInit<BootstrapOptions> = {
  name: 'natkit-bootstrap',
  description: 'Kademlia DHT server (plus identify and ping) that other natkit roles use with --bootstrap',
  role: BOOTSTRAP_ROLE
}

/** Pure: argv (after the script name) and env → validated bootstrap options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<BootstrapOptions> {
  return parseRoleArgs(argv, { ...BOOTSTRAP_CLI, env })
}
