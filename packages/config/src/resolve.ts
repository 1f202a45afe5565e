import { UserError } from '@natkit/events'
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { defaultFor, getOptionSpec, rolesWithKey } from './options.js'
import { ParseProblem, parseBoolean, parseBytes, parseDuration, parseHostPort, parseInteger } from './parse.js'
import type { CommonOptions, NetworkPreset, OptionSpec, RoleDefinition } from './options.js'

export type ConfigSource = 'flag' | 'env' | 'file' | 'default'

/** Longest value echoed back in an error message. */
export const MAX_ERROR_VALUE_LENGTH = 120

/**
 * Largest config file we read, checked before reading or parsing it.
 *
 * @default 1048576 (1 MiB)
 */
export const MAX_CONFIG_FILE_SIZE = 1024 * 1024

/**
 * Longest string value of an option (or item of a list option), checked
 * before the value is parsed: longer than any multiaddr, path or duration a
 * person writes, short enough that no parser spends noticeable time on it.
 *
 * @default 4096
 */
export const MAX_OPTION_VALUE_LENGTH = 4096

/**
 * Longest comma-separated list in one flag or env var, checked before it is split.
 *
 * @default 65536
 */
export const MAX_LIST_VALUE_LENGTH = 64 * 1024

/**
 * Most items in one list option (after splitting flags/env on commas, or in a JSON array).
 *
 * @default 256
 */
export const MAX_LIST_ITEMS = 256

/**
 * An option has a bad value. `field` is the option's camelCase key, `value`
 * the raw input, `source` where it came from. The message is one line naming
 * the flag / env var / file key, the source and the problem.
 */
export class ConfigError extends UserError {
  static override name = 'ConfigError'
  override name = 'ConfigError'
  readonly field: string
  readonly value: unknown
  readonly source: ConfigSource

  constructor (message: string, field: string, value: unknown, source: ConfigSource) {
    super(message)
    this.field = field
    this.value = value
    this.source = source
  }
}

/** The config file cannot be used (missing, unreadable, not JSON, not an object). `field` is `config`. */
export class ConfigFileError extends ConfigError {
  static override name = 'ConfigFileError'
  override name = 'ConfigFileError'
  readonly path: string

  constructor (path: string, problem: string) {
    super(`cannot use config file ${path}: ${problem}`, 'config', path, 'file')
    this.path = path
  }
}

export interface ConfigSources {
  /**
   * Options parsed by commander: camelCase keys; strings, string arrays,
   * booleans (numbers are accepted too). `undefined` values are ignored, so
   * do not give commander defaults - the defaults come from this package.
   */
  flags?: Record<string, unknown>
  /** Environment (usually `process.env`); only the `NATKIT_*` names of this role's options are read. */
  env?: Record<string, string | undefined>
  /** Config file to read when neither `--config` nor `NATKIT_CONFIG` names one. */
  configFile?: string
}

interface Raw {
  value: unknown
  source: ConfigSource
  /** the config file, when `source` is `file` */
  file?: string
  /** directory of the config file, for resolving relative paths from it */
  baseDir?: string
}

/**
 * Resolve the options of `role` (its rows, from the role's app) from
 * flags > env > config file > defaults, then run the role's cross-field check.
 * Throws {@link ConfigError} (or {@link ConfigFileError}) on the first bad value.
 */
export function resolveOptions<O extends CommonOptions> (definition: RoleDefinition<O>, sources: ConfigSources = {}): O {
  const specs = definition.specs
  const role = definition.name
  const flags = sources.flags ?? {}
  const env = sources.env ?? {}

  // 1. the config file
  const configSpec = getOptionSpec(definition, 'config') as OptionSpec
  let configRaw = pick(configSpec, flags, env)
  if (configRaw == null && sources.configFile != null) {
    configRaw = { value: sources.configFile, source: 'default' }
  }
  let configPath: string | undefined
  let file: Record<string, unknown> | undefined
  if (configRaw != null) {
    configPath = coerce(configSpec, configRaw, role) as string
    file = readConfigFile(configPath, definition)
  }
  const fileBase = configPath != null ? dirname(resolvePath(configPath)) : undefined

  // 2. the preset, which other defaults depend on
  const networkSpec = getOptionSpec(definition, 'network') as OptionSpec
  const network = coerce(networkSpec, pick(networkSpec, flags, env, file, configPath, fileBase) ?? { value: defaultFor(networkSpec, 'local'), source: 'default' }, role) as NetworkPreset

  // 3. everything else
  const out: Record<string, unknown> = { role, network }
  const sourceOf: Record<string, Raw> = {}
  for (const spec of specs) {
    if (spec.key === 'network') continue
    if (spec.key === 'config') {
      if (configPath != null) out.config = configPath
      continue
    }
    const raw = pick(spec, flags, env, file, configPath, fileBase) ?? { value: defaultFor(spec, network), source: 'default' as const }
    sourceOf[spec.key] = raw
    const value = coerce(spec, raw, role)
    if (value !== undefined) {
      out[spec.key] = value
    }
  }

  // 4. cross-field rules
  if (out.identity !== undefined && out.seed !== undefined) {
    const seed = sourceOf.seed
    const identity = sourceOf.identity
    throw new ConfigError(
      `${nameOf(getOptionSpec(definition, 'seed') as OptionSpec, seed)} (${seed.source}) cannot be combined with ${nameOf(getOptionSpec(definition, 'identity') as OptionSpec, identity)} (${identity.source}): use either a key file or a test seed`,
      'seed', seed.value, seed.source
    )
  }
  const options = out as unknown as O
  definition.check?.(options, {
    fail: (key: string, problem: string): never => {
      const spec = getOptionSpec(definition, key)
      const raw = sourceOf[key]
      if (spec == null || raw == null) throw new TypeError(`role ${role} has no option ${key}`)
      fail(spec, raw, raw.value, problem)
    }
  })

  return options
}

/** Highest-precedence value for `spec`, or `undefined` if no source sets it. */
function pick (spec: OptionSpec, flags: Record<string, unknown>, env: Record<string, string | undefined>, file?: Record<string, unknown>, filePath?: string, baseDir?: string): Raw | undefined {
  const flag = flags[spec.key]
  if (flag !== undefined) {
    return { value: flag, source: 'flag' }
  }
  const envValue = env[spec.env]
  // an empty variable unsets a scalar (`NATKIT_METRICS= natkit-relay`) but is an empty list for lists
  if (envValue !== undefined && (envValue !== '' || isList(spec))) {
    return { value: envValue, source: 'env' }
  }
  if (file != null && Object.hasOwn(file, spec.key)) {
    return { value: file[spec.key], source: 'file', file: filePath, baseDir }
  }
  return undefined
}

function isList (spec: OptionSpec): boolean {
  return spec.type === 'string[]' || spec.type === 'multiaddr[]'
}

/** How the user spelled this option in `raw`'s source. */
function nameOf (spec: OptionSpec, raw: Raw): string {
  switch (raw.source) {
    case 'flag': return spec.flag
    case 'env': return spec.env
    case 'file': return raw.file != null ? `${spec.key} in ${raw.file}` : spec.key
    default: return spec.key
  }
}

function show (value: unknown): string {
  let s: string
  try {
    // cut long strings before quoting them: the value may be megabytes long
    s = JSON.stringify(typeof value === 'string' ? value.slice(0, MAX_ERROR_VALUE_LENGTH + 1) : value) ?? String(value)
  } catch {
    // e.g. nesting too deep to stringify
    s = Array.isArray(value) ? 'a JSON array' : `a JSON ${typeof value}`
  }
  s = s.replace(/[\r\n]+/g, ' ')
  return s.length > MAX_ERROR_VALUE_LENGTH ? `${s.slice(0, MAX_ERROR_VALUE_LENGTH)}...` : s
}

function fail (spec: OptionSpec, raw: Raw, item: unknown, problem: string): never {
  throw new ConfigError(`invalid value for ${nameOf(spec, raw)} (${raw.source}): ${show(item)} ${problem}`, spec.key, raw.value, raw.source)
}

/** Coerce + validate one raw value. */
function coerce (spec: OptionSpec, raw: Raw, role: string): unknown {
  if (raw.value === undefined) {
    return undefined
  }
  try {
    if (isList(spec)) {
      return toList(spec, raw).map(item => coerceItem(spec, raw, item, role))
    }
    let value = raw.value
    if (Array.isArray(value)) {
      // a repeated scalar flag: the last one wins, as with commander
      if (raw.source !== 'flag' || value.length === 0) {
        fail(spec, raw, value, `must be a single ${describeType(spec)}, not a list`)
      }
      value = value[value.length - 1]
    }
    return coerceItem(spec, raw, value, role)
  } catch (err) {
    if (err instanceof ParseProblem) {
      fail(spec, raw, err.item, err.message)
    }
    throw err
  }
}

function toList (spec: OptionSpec, raw: Raw): unknown[] {
  const v = raw.value
  if (raw.source === 'file' || raw.source === 'default') {
    if (!Array.isArray(v)) {
      fail(spec, raw, v, `must be a list (JSON array) of ${describeType(spec)}s`)
    }
    checkItemCount(spec, raw, v, v.length)
    return v
  }
  // flags / env: strings, possibly repeated, possibly comma-separated
  const parts = Array.isArray(v) ? v : [v]
  const out: unknown[] = []
  for (const p of parts) {
    if (typeof p !== 'string') {
      fail(spec, raw, p, `is not a ${describeType(spec)}`)
    }
    checkLength(spec, raw, p, MAX_LIST_VALUE_LENGTH)
    for (const s of p.split(',')) {
      const t = s.trim()
      if (t !== '') out.push(t)
    }
    checkItemCount(spec, raw, p, out.length)
  }
  return out
}

/** Refuses a string longer than `max` characters, before anything parses it. */
function checkLength (spec: OptionSpec, raw: Raw, item: unknown, max: number): void {
  if (typeof item === 'string' && item.length > max) {
    fail(spec, raw, item, `is ${item.length} characters long, more than the limit of ${max}`)
  }
}

function checkItemCount (spec: OptionSpec, raw: Raw, item: unknown, count: number): void {
  if (count > MAX_LIST_ITEMS) {
    fail(spec, raw, item, `has ${count} items, more than the limit of ${MAX_LIST_ITEMS}`)
  }
}

function describeType (spec: OptionSpec): string {
  switch (spec.type) {
    case 'multiaddr[]': return 'multiaddr'
    case 'string[]': return 'string'
    case 'int': return 'integer'
    case 'hostport': return 'host:port'
    default: return spec.type
  }
}

function coerceItem (spec: OptionSpec, raw: Raw, item: unknown, role: string): unknown {
  checkLength(spec, raw, item, MAX_OPTION_VALUE_LENGTH)
  let value: unknown
  switch (spec.type) {
    case 'multiaddr[]':
      value = coerceMultiaddr(spec, raw, item)
      break
    case 'string':
    case 'string[]':
      if (typeof item !== 'string') fail(spec, raw, item, 'is not a string')
      value = item
      break
    case 'path':
      if (typeof item !== 'string') fail(spec, raw, item, 'is not a path string')
      if (item.trim() === '') fail(spec, raw, item, 'must be a non-empty path')
      value = raw.baseDir != null && !isAbsolute(item) ? resolvePath(raw.baseDir, item) : item
      break
    case 'enum': {
      const values = spec.values ?? []
      const v = typeof item === 'string' ? item.trim().toLowerCase() : item
      if (typeof v !== 'string' || !values.includes(v)) {
        fail(spec, raw, item, `must be one of ${values.join(', ')}`)
      }
      value = v
      break
    }
    case 'int':
      value = parseInteger(item)
      checkRange(spec, raw, item, value as number, 'an integer', String)
      break
    case 'duration':
      value = parseDuration(item)
      checkRange(spec, raw, item, value as number, 'a duration', n => `${n}ms`)
      break
    case 'bytes':
      value = parseBytes(item)
      checkRange(spec, raw, item, value as number, 'a byte size', n => `${n} bytes`)
      break
    case 'boolean':
      value = parseBoolean(item)
      break
    case 'hostport':
      value = parseHostPort(item)
      break
    default:
      throw new TypeError(`option ${spec.key} has unknown type ${String(spec.type)} (role ${role})`)
  }
  if (spec.check != null) {
    if (typeof value !== 'string') throw new TypeError(`option ${spec.key} has a check but is not a string option (role ${role})`)
    const problem = spec.check(value)
    if (problem != null) fail(spec, raw, item, problem)
  }
  return value
}

function checkRange (spec: OptionSpec, raw: Raw, item: unknown, n: number, what: string, fmt: (n: number) => string): void {
  const { min, max } = spec
  if (min != null && n < min) fail(spec, raw, item, `must be ${what} >= ${fmt(min)}`)
  if (max != null && n > max) fail(spec, raw, item, `must be ${what} <= ${fmt(max)}`)
}

function coerceMultiaddr (spec: OptionSpec, raw: Raw, item: unknown): string {
  if (typeof item !== 'string') {
    fail(spec, raw, item, 'is not a multiaddr string')
  }
  let ma
  try {
    ma = multiaddr(item)
    // encoding to bytes validates every component (e.g. the /p2p/ peer id)
    void ma.bytes
  } catch (err) {
    fail(spec, raw, item, `is not a multiaddr: ${oneLine(err instanceof Error ? err.message : String(err))}`)
  }
  if (spec.requirePeerId === true) {
    const components = ma.getComponents()
    if (components.length < 2 || components[components.length - 1].name !== 'p2p') {
      fail(spec, raw, item, 'must end with /p2p/<peerId>')
    }
  }
  return ma.toString()
}

function oneLine (s: string): string {
  return s.split('\n')[0].trim()
}

/**
 * Reads at most `max` bytes of `path` as UTF-8, refusing a larger file (by
 * its size before reading, and by what a read returns, should it have grown).
 */
function readBounded (path: string, max: number): string {
  const fd = openSync(path, 'r')
  try {
    if (fstatSync(fd).size > max) throw new ConfigFileError(path, `it is larger than ${max} bytes`)
    const buf = Buffer.alloc(max + 1)
    let length = 0
    let n: number
    while (length < buf.length && (n = readSync(fd, buf, length, buf.length - length, null)) > 0) length += n
    if (length > max) throw new ConfigFileError(path, `it is larger than ${max} bytes`)
    return buf.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

function readConfigFile (path: string, definition: RoleDefinition): Record<string, unknown> {
  let text: string
  try {
    const info = statSync(path)
    if (info.isDirectory()) throw new ConfigFileError(path, 'it is a directory')
    if (!info.isFile()) throw new ConfigFileError(path, 'it is not a regular file')
    text = readBounded(path, MAX_CONFIG_FILE_SIZE)
  } catch (err) {
    if (err instanceof ConfigFileError) throw err
    const { code, message } = (err ?? {}) as NodeJS.ErrnoException
    const problem = code === 'ENOENT'
      ? 'file not found'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : String(code ?? message ?? err)
    throw new ConfigFileError(path, problem)
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ConfigFileError(path, `not valid JSON: ${oneLine(err instanceof Error ? err.message : String(err))}`)
  }
  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigFileError(path, `expected a JSON object of options, got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`)
  }

  for (const key of Object.keys(parsed)) {
    const spec = getOptionSpec(definition, key)
    const value = (parsed as Record<string, unknown>)[key]
    if (spec == null) {
      // another role's option is refused naming its roles; anything else is unknown
      const others = rolesWithKey(key)
      if (others.length === 0) {
        throw new ConfigError(`unknown option ${show(key)} in config file ${path}`, key, value, 'file')
      }
      throw new ConfigError(`option ${show(key)} in config file ${path} does not apply to role ${definition.name} (it is for ${others.join(', ')})`, key, value, 'file')
    }
    if (spec.notInFile === true) {
      throw new ConfigError(`option ${show(key)} in config file ${path} is not allowed there (use ${spec.flag} or ${spec.env})`, key, value, 'file')
    }
  }
  return parsed as Record<string, unknown>
}

/** The part of a commander `Command` that {@link cliFlags} needs. */
export interface CommanderLike {
  opts(): Record<string, unknown>
  getOptionValueSource?(key: string): string | undefined
}

/**
 * The options the user actually typed: commander fills in implied defaults
 * (e.g. `--no-holepunch` alone makes `holepunch` default to `true`), which
 * would otherwise beat env and the config file. Keeps only values whose
 * source is `cli` (when the command can tell).
 */
export function cliFlags (command: CommanderLike): Record<string, unknown> {
  const all = command.opts()
  if (command.getOptionValueSource == null) {
    return { ...all }
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(all)) {
    if (command.getOptionValueSource(key) === 'cli') {
      out[key] = value
    }
  }
  return out
}
