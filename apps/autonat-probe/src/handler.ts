import { runRole, type ParsedArgs } from '@natkit/cli'

export async function handler (parsed: ParsedArgs<'autonat'>): Promise<number> {
  return await runRole({ name: 'natkit-autonat', options: parsed.options })
}
