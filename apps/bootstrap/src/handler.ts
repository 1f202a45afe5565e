import { runRole, type ParsedArgs } from '@natkit/cli'
import type { BootstrapOptions } from './options.js'
import { createBootstrap } from './node.js'

export async function handler (parsed: ParsedArgs<BootstrapOptions>): Promise<number> {
  return await runRole({ name: 'natkit-bootstrap', options: parsed.options, create: async (events) => await createBootstrap(parsed.options, events) })
}
