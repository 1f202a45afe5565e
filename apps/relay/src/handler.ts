import { runRole, type ParsedArgs } from '@natkit/cli'

export async function handler (parsed: ParsedArgs<'relay'>): Promise<number> {
  return await runRole({ name: 'natkit-relay', options: parsed.options })
}
