import { runRole, type ParsedArgs } from '@natkit/cli'
import { createRelay } from './node.js'

export async function handler (parsed: ParsedArgs<'relay'>): Promise<number> {
  return await runRole({ name: 'natkit-relay', options: parsed.options, create: async (events) => await createRelay(parsed.options, events) })
}
