/**
 * @packageDocumentation
 *
 * What every natkit app shares: commander flags generated from a role's
 * option rows (its app's `defineRole` from @natkit/config), a pure `parseRoleArgs`, user-error reporting
 * without stack traces, and running a role until SIGINT/SIGTERM.
 */
export { addRoleOptions, parseRoleArgs, UsageError, HelpShown, type ParsedArgs, type ParseInit } from './args.js'
export { runRole, reportFatal, quietEvents, EXIT_USAGE, type RunInit, type RunnableRole } from './run.js'
