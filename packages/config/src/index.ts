/**
 * @packageDocumentation
 *
 * Typed options of the four natkit roles (`bootstrap`, `relay`, `peer`,
 * `autonat`) from command line flags, `NATKIT_*` environment variables and a
 * JSON config file, in that order of precedence, over defaults that may
 * depend on the `network` preset (`local`, `lab`, `public`).
 *
 * One table, {@link OPTION_SPECS}, drives flags, env names, config keys,
 * coercion, validation and docs.
 *
 * @example
 *
 * ```ts
 * import { resolveOptions, optionsFor, ConfigError } from '@natkit/config'
 *
 * // build commander options from optionsFor('relay') (no commander defaults!), then:
 * try {
 *   const opts = resolveOptions('relay', { flags: program.opts(), env: process.env })
 *   opts.maxReservations // number
 * } catch (err) {
 *   if (err instanceof ConfigError) { console.error(err.message); process.exit(2) }
 *   throw err
 * }
 * ```
 */

export * from './options.js'
export { ConfigError, ConfigFileError, MAX_CONFIG_FILE_SIZE, MAX_ERROR_VALUE_LENGTH, cliFlags, resolveOptions } from './resolve.js'
export type { CommanderLike, ConfigSource, ConfigSources } from './resolve.js'
export { limitsNotReaching, type LimitPathsInit } from './limits.js'
export { MAX_DURATION_MS, ParseProblem, formatBytes, formatDuration, formatHostPort, parseBoolean, parseBytes, parseDuration, parseHostPort, parseInteger } from './parse.js'
export type { HostPort } from './parse.js'
export { describeDefault, describeOptions, formatOptionValue } from './docs.js'
