import { describeDefault, resolveOptions, ConfigError, type CommonOptions, type OptionSpec, type RoleDefinition } from '@natkit/config'
import { UserError } from '@natkit/events'
import { Command, CommanderError, Option } from 'commander'

/** A command line that cannot be used: one line, no stack. */
export class UsageError extends UserError {
  static override name = 'UsageError'
  override name = 'UsageError'
}

/** `--help` or `--version` was shown; not an error. */
export class HelpShown extends Error {
  override name = 'HelpShown'
  readonly text: string
  constructor (text: string) {
    super('help shown')
    this.text = text
  }
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), ...value.split(',').map(s => s.trim()).filter(s => s !== '')]

/** ` (default: …)` for help text, from the option row's own description of defaults. */
function defaultHint (spec: OptionSpec): string {
  if (spec.type === 'boolean') return ''
  const d = describeDefault(spec)
  return d === '-' || d === '[]' ? '' : ` (default: ${d})`
}

/** Adds one commander option per option row of `role`. No commander defaults: precedence is resolved in @natkit/config. */
export function addRoleOptions (cmd: Command, role: RoleDefinition, skip: string[] = []): Command {
  for (const spec of role.specs) {
    if (skip.includes(spec.key)) continue
    const help = `${spec.description}${defaultHint(spec)} [env ${spec.env}]`
    if (spec.type === 'boolean') {
      // positive flag first: commander then leaves the value undefined unless typed,
      // so env and config-file values are not overridden by an implicit default
      const d = typeof spec.default === 'function' ? undefined : spec.default
      const positive = new Option(spec.flag, help)
      const negative = new Option(`--no-${spec.flag.slice(2)}`, `disable: ${help}`)
      cmd.addOption(d === true ? positive.hideHelp() : positive)
      cmd.addOption(d === true ? negative : negative.hideHelp())
      continue
    }
    const arg = spec.arg ?? (spec.type === 'enum' ? `<${(spec.values ?? []).join('|')}>` : '<value>')
    const opt = new Option(`${spec.flag} ${arg}`, help)
    if (spec.type === 'string[]' || spec.type === 'multiaddr[]') opt.argParser(collect)
    cmd.addOption(opt)
  }
  return cmd
}

export interface ParseInit<O extends CommonOptions = CommonOptions> {
  /** Binary name for usage lines, e.g. `natkit-relay`. */
  name: string
  description: string
  /** The role's options (its app's `defineRole`). */
  role: RoleDefinition<O>
  env?: Record<string, string | undefined>
  /** Sub-commands (e.g. `dial <target>`); when absent the role runs directly. */
  commands?: Array<{ name: string, args?: string, description: string, default?: boolean }>
  /** Option keys not offered by this binary. */
  skip?: string[]
}

export interface ParsedArgs<O extends CommonOptions> {
  command: string
  args: string[]
  options: O
}

function configure (cmd: Command, out: { text: string }): Command {
  return cmd.exitOverride().configureOutput({
    writeOut: (s) => { out.text += s },
    writeErr: (s) => { out.text += s },
    outputError: () => {}
  }).showSuggestionAfterError(true).allowExcessArguments(false)
}

/**
 * Pure parsing: argv (without node and script) → resolved, validated role
 * options. Throws UsageError/ConfigError with one clear line, or HelpShown.
 */
export function parseRoleArgs<O extends CommonOptions> (argv: string[], init: ParseInit<O>): ParsedArgs<O> {
  const out = { text: '' }
  const program = configure(new Command(init.name), out).description(init.description)
  let chosen: { command: string, args: string[], flags: Record<string, unknown> } | undefined
  const subs = init.commands ?? []
  if (subs.length === 0) {
    addRoleOptions(program, init.role, init.skip).action((flags: Record<string, unknown>) => { chosen = { command: 'run', args: [], flags } })
  } else {
    for (const s of subs) {
      const sub = configure(program.command(`${s.name}${s.args != null ? ` ${s.args}` : ''}`, { isDefault: s.default === true }), out).description(s.description)
      addRoleOptions(sub, init.role, init.skip).action((...a: unknown[]) => {
        const flags = a[a.length - 2] as Record<string, unknown>
        chosen = { command: s.name, args: a.slice(0, -2).map(String), flags }
      })
    }
  }
  try {
    program.parse(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') throw new HelpShown(out.text)
      throw new UsageError(err.message.replace(/^error: /, ''))
    }
    throw err
  }
  if (chosen == null) throw new UsageError('no command given')
  const flags = Object.fromEntries(Object.entries(chosen.flags).filter(([, v]) => v !== undefined))
  try {
    const options = resolveOptions(init.role, { flags, env: init.env ?? {} })
    return { command: chosen.command, args: chosen.args, options }
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new UsageError((err as Error).message)
  }
}
