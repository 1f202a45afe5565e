import { runRole, type ParsedArgs } from '@natkit/cli'

export async function handler (parsed: ParsedArgs<'bootstrap'>): Promise<number> {
  return await runRole({ name: 'natkit-bootstrap', options: parsed.options })
}
