import { runRole, type ParsedArgs } from '@natkit/cli'
import type { RelayOptions } from './options.js'
import { createRelay } from './node.js'

export async function handler (parsed: ParsedArgs<RelayOptions>): Promise<number> {
  return await runRole({ name: 'natkit-relay', options: parsed.options, create: async (events) => await createRelay(parsed.options, events) })
}
