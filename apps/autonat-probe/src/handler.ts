import { runRole, UsageError, type ParsedArgs } from '@natkit/cli'

/** `natkit-autonat check`: at least one address is reachable. */
export const EXIT_REACHABLE = 0
/** `natkit-autonat check`: no address was reachable (none reachable, or only unknown). */
export const EXIT_UNREACHABLE = 3
/** `natkit-autonat check`: no server could be asked (unreachable, silent past `--timeout`, or no verdict). */
export const EXIT_NO_ANSWER = 1
/**
 * `natkit-autonat check` exits with `EXIT_USAGE` (2, as every natkit app) on a
 * usage problem, e.g. no `--server`, or no non-loopback listen address to check.
 */
export { EXIT_USAGE } from '@natkit/cli'

export async function handler (parsed: ParsedArgs<'autonat'>): Promise<number> {
  if (parsed.command !== 'check') return await runRole({ name: 'natkit-autonat', options: parsed.options })
  if (parsed.options.server.length === 0) throw new UsageError('check needs at least one --server <multiaddr of an AutoNAT v2 server>')
  return await runRole({
    name: 'natkit-autonat',
    options: parsed.options,
    autonatServer: false,
    main: async (role) => {
      const results = await role.checkReachability(parsed.options.server, parsed.options.timeout)
      if (results.length === 0) return EXIT_NO_ANSWER
      return results.some(r => r.status === 'reachable') ? EXIT_REACHABLE : EXIT_UNREACHABLE
    }
  })
}
