import { runRole, type ParsedArgs } from '@natkit/cli'
import { createBootstrap } from './node.js'

export async function handler (parsed: ParsedArgs<'bootstrap'>): Promise<number> {
  return await runRole({ name: 'natkit-bootstrap', options: parsed.options, create: async (events) => await createBootstrap(parsed.options, events) })
}
