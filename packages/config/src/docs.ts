import { NETWORK_PRESETS, defaultFor } from './options.js'
import { formatBytes, formatDuration, formatHostPort } from './parse.js'
import type { HostPort } from './parse.js'
import type { NetworkPreset, OptionSpec, RoleDefinition } from './options.js'

/** Longest list rendered in full in a default column. */
const MAX_LISTED_DEFAULTS = 3

/** Human form of one option value, in the syntax the flag accepts. */
export function formatOptionValue (spec: OptionSpec, value: unknown): string {
  if (value === undefined) return '-'
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    if (value.length > MAX_LISTED_DEFAULTS) return `${value.length} addresses`
    return value.map(v => formatOptionValue({ ...spec, type: 'string' }, v)).join(',')
  }
  switch (spec.type) {
    case 'duration': return formatDuration(value as number)
    case 'bytes': return formatBytes(value as number)
    case 'hostport': return formatHostPort(value as HostPort)
    default: return String(value)
  }
}

/** The default of `spec`, noting where presets differ. */
export function describeDefault (spec: OptionSpec): string {
  const byPreset = new Map<string, NetworkPreset[]>()
  for (const preset of NETWORK_PRESETS) {
    const text = spec.key === 'bootstrap' && preset === 'public'
      ? 'PUBLIC_BOOTSTRAP_PEERS'
      : formatOptionValue(spec, defaultFor(spec, preset))
    byPreset.set(text, [...(byPreset.get(text) ?? []), preset])
  }
  if (byPreset.size === 1) {
    return [...byPreset.keys()][0]
  }
  return [...byPreset.entries()].map(([text, presets]) => `${presets.join('/')}: ${text}`).join('; ')
}

/**
 * A plain-text table of the options of `role`: flag, env var, default and
 * description. Used for `--help` epilogues and the README.
 */
export function describeOptions (role: RoleDefinition): string {
  const rows = role.specs.map(spec => [
    spec.type === 'boolean' ? `${spec.flag}${defaultFor(spec, 'local') === true ? ` / --no-${spec.flag.slice(2)}` : ''}` : `${spec.flag} ${spec.arg ?? '<value>'}`,
    spec.env,
    describeDefault(spec),
    spec.description
  ])
  const header = ['FLAG', 'ENV', 'DEFAULT', 'DESCRIPTION']
  const all = [header, ...rows]
  const widths = [0, 1, 2].map(i => Math.max(...all.map(r => r[i].length)))
  return all
    .map(r => r.map((cell, i) => i < 3 ? cell.padEnd(widths[i]) : cell).join('  ').trimEnd())
    .join('\n') + '\n'
}
