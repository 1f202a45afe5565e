/**
 * @packageDocumentation
 *
 * Typed options of natkit roles from command line flags, `NATKIT_*`
 * environment variables and a JSON config file, in that order of precedence,
 * over defaults that may depend on the `network` preset (`local`, `lab`,
 * `public`).
 *
 * This package holds the machinery and the options common to every role
 * ({@link COMMON_SPECS}); each role's app owns its own rows, defaults and
 * options type and defines the role with {@link defineRole}. The rows drive
 * flags, env names, config keys, coercion, validation and docs.
 *
 * @example
 *
 * ```ts
 * import { defineRole, resolveOptions, spec, ConfigError, type CommonOptions } from '@natkit/config'
 *
 * interface RelayOptions extends CommonOptions { role: 'relay', maxReservations: number }
 * const RELAY = defineRole<RelayOptions>({
 *   name: 'relay',
 *   listen: ['/ip4/0.0.0.0/tcp/4001'],
 *   specs: [spec('maxReservations', 'int', 128, 'maximum concurrent relay reservations', { min: 1 })]
 * })
 * // build commander options from RELAY.specs (no commander defaults!), then:
 * try {
 *   const opts = resolveOptions(RELAY, { flags: program.opts(), env: process.env })
 *   opts.maxReservations // number
 * } catch (err) {
 *   if (err instanceof ConfigError) { console.error(err.message); process.exit(2) }
 *   throw err
 * }
 * ```
 */

export * from './options.js'
export { ConfigError, ConfigFileError, MAX_CONFIG_FILE_SIZE, MAX_ERROR_VALUE_LENGTH, MAX_LIST_ITEMS, MAX_LIST_VALUE_LENGTH, MAX_OPTION_VALUE_LENGTH, cliFlags, resolveOptions } from './resolve.js'
export type { CommanderLike, ConfigSource, ConfigSources } from './resolve.js'
export { limitsNotReaching, type LimitPathsInit } from './limits.js'
export { MAX_DURATION_MS, ParseProblem, checkStunUrl, formatBytes, formatDuration, formatHostPort, parseBoolean, parseBytes, parseDuration, parseHostPort, parseInteger } from './parse.js'
export type { HostPort } from './parse.js'
export { describeDefault, describeOptions, formatOptionValue } from './docs.js'
