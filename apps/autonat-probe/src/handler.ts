import { runRole, UsageError, type ParsedArgs } from '@natkit/cli'
import type { AutonatOptions } from './options.js'
import { createAutonat, createNatProbe } from './node.js'

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

export async function handler (parsed: ParsedArgs<AutonatOptions>): Promise<number> {
  const o = parsed.options
  if (parsed.command === 'nat') {
    if (o.stun.length === 0) throw new UsageError('nat needs at least one --stun <host:port of a natkit STUN server>')
    return await runRole({
      name: 'natkit-autonat',
      options: o,
      create: async (events) => createNatProbe(o, events),
      // a verdict needs at least one answer
      main: async (probe) => (await probe.run()).observations.samples.some(s => s.mapped != null) ? 0 : EXIT_NO_ANSWER
    })
  }
  if (parsed.command !== 'check') return await runRole({ name: 'natkit-autonat', options: o, create: async (events) => await createAutonat(o, events) })
  if (o.server.length === 0) throw new UsageError('check needs at least one --server <multiaddr of an AutoNAT v2 server>')
  return await runRole({
    name: 'natkit-autonat',
    options: o,
    create: async (events) => await createAutonat(o, events, { check: true }),
    main: async ({ node }) => {
      const checker = node.services.reachability
      if (checker == null) throw new Error('the check composition has no reachability checker')
      const results = await checker.check(o.server, o.timeout)
      if (results.length === 0) return EXIT_NO_ANSWER
      return results.some(r => r.status === 'reachable') ? EXIT_REACHABLE : EXIT_UNREACHABLE
    }
  })
}
