import { distinctLimitFlags, type CommonOptions, type RoleDefinition } from './options.js'
import { resolveOptions } from './resolve.js'

/** What {@link limitsNotReaching} needs to know about a role's composition. */
export interface LimitPathsInit<O extends CommonOptions> {
  /** the role's definition (its option rows) */
  role: RoleDefinition<O>
  /** Option key → the paths in `compose`'s result where its value must arrive. */
  paths: Readonly<Record<string, readonly string[]>>
  /** The role's pure composition (options → the init handed to libp2p). */
  compose: (options: O) => unknown
  /** Limits the app uses itself instead of handing them to libp2p. */
  exclude?: ReadonlySet<string>
  /** Other flags the composition needs (e.g. a relay for the peer's reservation keeper). */
  extraFlags?: Record<string, unknown>
}

const get = (obj: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj)

/**
 * Proves that a role's composition hands every limit option to the component
 * that uses it: gives each limit a value distinct from its default and from
 * every other limit ({@link distinctLimitFlags}), composes, and returns one
 * line per limit that is not mapped in `paths` or did not arrive unchanged at
 * each of its paths. An empty list means every limit arrived.
 */
export function limitsNotReaching<O extends CommonOptions> (init: LimitPathsInit<O>): string[] {
  const { limits, flags } = distinctLimitFlags(init.role, init.exclude)
  const options = resolveOptions(init.role, { flags: { ...flags, ...init.extraFlags } })
  const composed = init.compose(options)
  const problems: string[] = []
  for (const spec of limits) {
    const paths = init.paths[spec.key]
    if (paths == null) {
      problems.push(`option ${spec.key} is not mapped to a libp2p component`)
      continue
    }
    const value = String(flags[spec.key])
    for (const path of paths) {
      const arrived = String(get(composed, path))
      if (arrived !== value) problems.push(`${spec.key} = ${value} arrived at ${path} as ${arrived}`)
    }
  }
  return problems
}
