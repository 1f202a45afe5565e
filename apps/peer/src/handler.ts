import { runRole, type ParsedArgs } from '@natkit/cli'

/** Exit status of `natkit-peer dial`: a direct connection was made. */
export const EXIT_DIRECT = 0
/** Exit status of `natkit-peer dial`: connected, but only through a relay. */
export const EXIT_RELAYED_ONLY = 3
/** Exit status of `natkit-peer dial`: not connected. */
export const EXIT_NOT_CONNECTED = 1

export async function handler (parsed: ParsedArgs<'peer'>): Promise<number> {
  if (parsed.command !== 'dial') return await runRole({ name: 'natkit-peer', options: parsed.options })
  const target = parsed.args[0]
  return await runRole({
    name: 'natkit-peer',
    options: parsed.options,
    main: async (role) => {
      const result = await role.dialPeer(target, parsed.options.timeout)
      return result.outcome === 'direct' ? EXIT_DIRECT : result.outcome === 'relayed' ? EXIT_RELAYED_ONLY : EXIT_NOT_CONNECTED
    }
  })
}
