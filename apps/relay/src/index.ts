export { parseArgs, RELAY_ROLE, RELAY_CLI, type RelayOptions } from './options.js'
